-- Failed logins lock a pair of account and address (so that an attacker from one address cannot lock the owner
-- out from theirs), or an address that tries many accounts; every lock-out is kept for the admin.
CREATE TABLE login_lockouts (
    id         bigserial PRIMARY KEY,
    username   text NOT NULL,
    account_id uuid REFERENCES accounts (id),
    address    text NOT NULL,
    scope      text NOT NULL CHECK (scope IN ('account_address', 'address')),
    failures   integer NOT NULL,
    at         timestamptz NOT NULL,
    until      timestamptz NOT NULL,
    cleared_at timestamptz,
    cleared_by text NOT NULL DEFAULT ''
);
CREATE INDEX login_lockouts_at ON login_lockouts (at DESC);

-- A password change keeps the previous hash's time, and tokens carry their creator's kind of login.
ALTER TABLE accounts ADD COLUMN password_changed_at timestamptz;
