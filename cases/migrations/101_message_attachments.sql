-- Attachments in messages are materials (issue 12 §4 with §1): a message of a case thread carries materials of
-- its case, in order. The SHA-256 is the material's as it was attached; the message's hash chains each
-- attachment's material id and SHA-256 (cases.messageHash), so a swapped or changed file shows in the thread's
-- chain. Append-only, like the messages.
CREATE TABLE case_message_attachments (
    message_id  bigint NOT NULL REFERENCES case_messages (id),
    position    integer NOT NULL,
    material_id uuid NOT NULL REFERENCES materials (id),
    sha256      bytea NOT NULL,
    PRIMARY KEY (message_id, position)
);
CREATE INDEX case_message_attachments_material ON case_message_attachments (material_id);
CREATE TRIGGER case_message_attachments_no_change BEFORE UPDATE OR DELETE ON case_message_attachments
    FOR EACH ROW EXECUTE FUNCTION case_messages_append_only();
