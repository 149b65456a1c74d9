-- A party's contact (phone, electronic-service address) is corrected by staff only with a reason and a
-- confirmation (a code sent to the OLD contact, or a second staff member); a party changes its own contact with a
-- code sent to the NEW one. Every request, its confirmation and who gave it is kept here and on the trail.
CREATE TABLE contact_corrections (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id             uuid NOT NULL REFERENCES cases (id),
    party_id            uuid NOT NULL REFERENCES parties (id),
    kind                text NOT NULL CHECK (kind IN ('staff', 'self')),
    old_phone           text NOT NULL,
    old_service_address text NOT NULL,
    new_phone           text NOT NULL,
    new_service_address text NOT NULL,
    reason              text NOT NULL DEFAULT '',
    requested_by        text NOT NULL,
    requested_by_name   text NOT NULL,
    requested_by_org    text NOT NULL DEFAULT '',
    requested_at        timestamptz NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'applied', 'rejected', 'cancelled')),
    code_hash           bytea,
    code_expires_at     timestamptz,
    code_sent_at        timestamptz,
    code_attempts       integer NOT NULL DEFAULT 0,
    confirmed_by        text NOT NULL DEFAULT '',
    confirmed_by_name   text NOT NULL DEFAULT '',
    confirmation        text NOT NULL DEFAULT '' CHECK (confirmation IN ('', 'old_contact_code', 'second_staff', 'new_contact_code')),
    decided_at          timestamptz,
    decision_note       text NOT NULL DEFAULT ''
);
CREATE INDEX contact_corrections_party ON contact_corrections (party_id, requested_at);
-- At most one open request per party at a time.
CREATE UNIQUE INDEX contact_corrections_one_pending ON contact_corrections (party_id) WHERE status = 'pending';

-- Invitations say who revoked them and why (a newer link for the same person, staff, a contact correction).
ALTER TABLE invitations ADD COLUMN revoked_reason text NOT NULL DEFAULT '';
CREATE INDEX web_sessions_subject ON web_sessions (subject_id);
