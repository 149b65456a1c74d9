-- Webhooks for court systems and IP dispute platforms (issue 12 §5). An endpoint receives the docking events of
-- the cases of its organisation (or of every case when it names none); each event is written to the outbox
-- (webhook_deliveries) in the transaction that appends it to the case's trail. Senders on every node claim due
-- deliveries with FOR UPDATE SKIP LOCKED and a lease, so one sender sends each delivery at a time; every attempt
-- is logged.

CREATE TABLE webhook_endpoints (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    url        text NOT NULL,
    secret     text NOT NULL,
    org_id     uuid REFERENCES organisations (id),
    events     text[] NOT NULL DEFAULT '{}',
    active     boolean NOT NULL DEFAULT true,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);

CREATE TABLE webhook_deliveries (
    id           bigserial PRIMARY KEY,
    endpoint_id  uuid NOT NULL REFERENCES webhook_endpoints (id),
    case_id      uuid NOT NULL REFERENCES cases (id),
    event_seq    bigint NOT NULL,
    event_type   text NOT NULL,
    payload      jsonb NOT NULL,
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts     integer NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL,
    lease_until  timestamptz,
    lease_token  text NOT NULL DEFAULT '',
    last_status  integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    delivered_at timestamptz,
    UNIQUE (endpoint_id, case_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id DESC);

CREATE TABLE webhook_attempts (
    id          bigserial PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id),
    attempt     integer NOT NULL,
    at          timestamptz NOT NULL,
    status_code integer NOT NULL DEFAULT 0,
    error       text NOT NULL DEFAULT '',
    duration_ms integer NOT NULL DEFAULT 0,
    outcome     text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead'))
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
