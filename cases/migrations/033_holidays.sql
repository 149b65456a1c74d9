-- The working-day calendar lives in the database, edited by the platform admin through the API; the built-in
-- lists and the holidays file seed it when it is empty.
CREATE TABLE holidays (
    day        date PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name       text NOT NULL DEFAULT '',
    updated_by text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);
