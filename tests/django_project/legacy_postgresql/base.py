"""PostgreSQL as Django 4.2 and 5.0 connect: the cursor factory is set after connecting.

That replaces the psycopg instrumentor's traced factory; the runner must put it back.
"""

from typing import Any

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        factory = conn_params.pop("cursor_factory", None)
        connection = super().get_new_connection(conn_params)
        if factory is not None:
            connection.cursor_factory = factory
        return connection
