-- Parley foundation schema: organisations, accounts, roster, parties, cases, the audit trail, authentication.
-- Unqualified names only: tests run every migration inside a schema of their own.

CREATE TABLE organisations (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind           text NOT NULL CHECK (kind IN ('court', 'ip_office', 'mediation_org', 'platform')),
    mediation_kind text NOT NULL DEFAULT '' CHECK (mediation_kind IN ('', 'people', 'administrative', 'industry', 'commercial', 'lawyer', 'ip_centre')),
    name           text NOT NULL UNIQUE,
    region         text NOT NULL DEFAULT '',
    address        text NOT NULL DEFAULT '',
    phone          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'mediation_org') = (mediation_kind <> ''))
);

CREATE TABLE accounts (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid REFERENCES organisations (id),
    role          text NOT NULL CHECK (role IN ('admin', 'ip_officer', 'clerk', 'judge', 'org_admin', 'mediator')),
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    phone         text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_org ON accounts (org_id);

CREATE TABLE mediator_profiles (
    account_id  uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    specialties text[] NOT NULL DEFAULT '{}',
    background  text NOT NULL DEFAULT '',
    case_scope  text NOT NULL DEFAULT '',
    free        boolean NOT NULL DEFAULT true,
    fee_note    text NOT NULL DEFAULT ''
);

CREATE TABLE roster_entries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    court_id        uuid NOT NULL REFERENCES organisations (id),
    mediator_id     uuid REFERENCES accounts (id),
    organisation_id uuid REFERENCES organisations (id),
    recommended_by  uuid REFERENCES organisations (id),
    status          text NOT NULL CHECK (status IN ('recommended', 'confirmed', 'removed')),
    ip_roster       boolean NOT NULL DEFAULT true,
    note            text NOT NULL DEFAULT '',
    recommended_at  timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz,
    CHECK ((mediator_id IS NULL) <> (organisation_id IS NULL))
);
CREATE UNIQUE INDEX roster_one_mediator ON roster_entries (court_id, mediator_id) WHERE mediator_id IS NOT NULL AND status <> 'removed';
CREATE UNIQUE INDEX roster_one_org ON roster_entries (court_id, organisation_id) WHERE organisation_id IS NOT NULL AND status <> 'removed';

CREATE SEQUENCE case_number_seq;

CREATE TABLE cases (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    number              text NOT NULL UNIQUE,
    court_case_number   text NOT NULL DEFAULT '',
    title               text NOT NULL,
    dispute_type        text NOT NULL,
    summary             text NOT NULL DEFAULT '',
    claim_amount_fen    bigint NOT NULL DEFAULT 0 CHECK (claim_amount_fen >= 0),
    source              text NOT NULL CHECK (source IN ('delegated', 'entrusted_ordinary', 'entrusted_simplified', 'direct')),
    court_id            uuid REFERENCES organisations (id),
    organisation_id     uuid REFERENCES organisations (id),
    state               text NOT NULL,
    end_ground          text NOT NULL DEFAULT '',
    version             integer NOT NULL DEFAULT 1,
    choose_due_at       timestamptz,
    referred_at         timestamptz,
    answer_due_at       timestamptz,
    accepted_at         timestamptz,
    time_limit_days     integer NOT NULL DEFAULT 0,
    extended_days       integer NOT NULL DEFAULT 0,
    due_at              timestamptz,
    paused_at           timestamptz,
    paused_seconds      bigint NOT NULL DEFAULT 0,
    ended_at            timestamptz,
    effective_at        timestamptz,
    confirmation_due_at timestamptz,
    decided_at          timestamptz,
    pending             jsonb,
    created_by          uuid REFERENCES accounts (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    event_count         bigint NOT NULL DEFAULT 0,
    event_head          bytea
);
CREATE INDEX cases_court ON cases (court_id);
CREATE INDEX cases_org ON cases (organisation_id);
CREATE INDEX cases_state ON cases (state);
CREATE INDEX cases_due ON cases (due_at) WHERE state = 'in_mediation';
CREATE INDEX cases_answer_due ON cases (answer_due_at) WHERE state = 'referred';

CREATE TABLE case_mediators (
    case_id        uuid NOT NULL REFERENCES cases (id),
    account_id     uuid NOT NULL REFERENCES accounts (id),
    ord            integer NOT NULL,
    presiding      boolean NOT NULL DEFAULT false,
    status         text NOT NULL CHECK (status IN ('assigned', 'accepted', 'declined', 'replaced', 'withdrawn')),
    assigned_at    timestamptz NOT NULL,
    answered_at    timestamptz,
    decline_reason text NOT NULL DEFAULT '',
    PRIMARY KEY (case_id, ord)
);
CREATE INDEX case_mediators_account ON case_mediators (account_id);

CREATE TABLE parties (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id         uuid NOT NULL REFERENCES cases (id),
    ord             integer NOT NULL,
    side            text NOT NULL CHECK (side IN ('applicant', 'respondent')),
    kind            text NOT NULL CHECK (kind IN ('person', 'company')),
    name            text NOT NULL,
    id_number       text NOT NULL DEFAULT '',
    legal_rep       text NOT NULL DEFAULT '',
    phone           text NOT NULL DEFAULT '',
    service_address text NOT NULL DEFAULT '',
    address         text NOT NULL DEFAULT '',
    consent_online  boolean NOT NULL DEFAULT false,
    consent_at      timestamptz,
    UNIQUE (case_id, ord)
);

CREATE TABLE agents (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    party_id        uuid NOT NULL REFERENCES parties (id),
    name            text NOT NULL,
    lawyer          boolean NOT NULL DEFAULT false,
    law_firm        text NOT NULL DEFAULT '',
    licence_no      text NOT NULL DEFAULT '',
    phone           text NOT NULL DEFAULT '',
    service_address text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_party ON agents (party_id);

-- The audit trail: append-only, hash-chained per case. The trigger refuses ordinary UPDATE and DELETE; the
-- chain (and the head kept on the case row) detects changes made around it.
CREATE TABLE case_events (
    case_id    uuid NOT NULL REFERENCES cases (id),
    seq        bigint NOT NULL,
    at         timestamptz NOT NULL,
    actor_kind text NOT NULL,
    actor_id   text NOT NULL DEFAULT '',
    actor_name text NOT NULL DEFAULT '',
    type       text NOT NULL,
    visibility text NOT NULL DEFAULT 'all',
    data       jsonb NOT NULL,
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL,
    PRIMARY KEY (case_id, seq)
);
CREATE INDEX case_events_type ON case_events (type, at);

CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is append-only';
END;
$$;
CREATE TRIGGER case_events_no_change BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();

-- Authentication.
CREATE TABLE web_sessions (
    token_hash bytea PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('account', 'party', 'agent')),
    subject_id uuid NOT NULL,
    case_id    uuid REFERENCES cases (id),
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id   uuid NOT NULL REFERENCES accounts (id),
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE invitations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id         uuid NOT NULL REFERENCES cases (id),
    party_id        uuid NOT NULL REFERENCES parties (id),
    agent_id        uuid REFERENCES agents (id),
    token_hash      bytea NOT NULL UNIQUE,
    created_by      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    code_hash       bytea,
    code_expires_at timestamptz,
    code_sent_at    timestamptz,
    code_attempts   integer NOT NULL DEFAULT 0,
    verified_at     timestamptz
);
CREATE INDEX invitations_party ON invitations (party_id);

-- Keys and secrets Parley generates at first start (token keys, CA keys). One row per name, never rewritten.
CREATE TABLE server_secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Login throttling per username and per client address.
CREATE TABLE login_attempts (
    key        text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_key ON login_attempts (key, at);
