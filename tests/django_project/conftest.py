# A Django project that tests/test_django_runner.py runs through Django's own runner in
# subprocesses: pytest must not collect its test modules itself.
collect_ignore_glob = ["*"]
