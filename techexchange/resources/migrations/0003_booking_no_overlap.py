"""No two active bookings of an exclusive instrument overlap: PostgreSQL's exclusion constraint.

The blocked range of a booking is [starts_at, blocked_until) with blocked_until = ends_at +
buffer (stored, because timestamptz + interval is not immutable): the turnaround buffer follows
each booking, so two bookings are at least one buffer apart and back-to-back bookings (without
buffer) are allowed. Only active bookings (pending, confirmed, checked in) of exclusive
instruments count; orders have no range. On SQLite this migration does nothing: bookings are
serialised by IMMEDIATE transactions and checked in services.book_instrument.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE resources_booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist (
    instrument_id WITH =,
    tstzrange(starts_at, blocked_until, '[)') WITH &&
) WHERE (status IN ('pending', 'confirmed', 'checked_in') AND kind = 'slot' AND exclusive);
"""
DROP = "ALTER TABLE resources_booking DROP CONSTRAINT IF EXISTS booking_no_overlap;"


class PostgresOnly(migrations.RunSQL):
    """RunSQL that runs only when the database is PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("resources", "0002_load_categories")]

    operations = [PostgresOnly(CREATE, DROP)]
