-- Caucus content stays with the caucus (OMR Art. 18): each caucus message points at the very caucus it was said
-- in (caucus IDs such as "caucus-1" repeat when a room is opened again), the mediators who moved into a caucus are
-- kept as its readers, the mediators' caucus notes live beside the caucus, and a message moves into the shared
-- record only by the consent of every party that was in its caucus, each consent its own row.
ALTER TABLE session_messages ADD COLUMN caucus_ref bigint REFERENCES session_caucuses (id);
ALTER TABLE session_messages ADD COLUMN shared_at timestamptz;

UPDATE session_messages m SET caucus_ref = (
    SELECT k.id FROM session_caucuses k
    WHERE k.session_id = m.session_id AND k.caucus_id = m.scope AND k.opened_at <= m.at AND (k.closed_at IS NULL OR k.closed_at >= m.at)
    ORDER BY k.opened_at DESC, k.id DESC LIMIT 1)
WHERE m.scope <> 'joint';

CREATE TABLE session_caucus_presence (
    caucus_ref     bigint NOT NULL REFERENCES session_caucuses (id),
    participant_id text NOT NULL,
    role           text NOT NULL,
    at             timestamptz NOT NULL,
    PRIMARY KEY (caucus_ref, participant_id)
);

-- The opener of every caucus recorded before this migration was in it.
INSERT INTO session_caucus_presence (caucus_ref, participant_id, role, at)
SELECT id, opened_by, 'mediator', opened_at FROM session_caucuses ON CONFLICT DO NOTHING;

CREATE TABLE session_caucus_notes (
    caucus_ref      bigint PRIMARY KEY REFERENCES session_caucuses (id),
    body            text NOT NULL,
    version         integer NOT NULL,
    updated_by      text NOT NULL,
    updated_by_name text NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE session_message_consents (
    message_id bigint NOT NULL REFERENCES session_messages (id),
    party_id   uuid NOT NULL,
    by_kind    text NOT NULL,
    by_id      text NOT NULL,
    by_name    text NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (message_id, party_id)
);
