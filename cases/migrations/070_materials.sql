-- The case file's materials (证据材料, issue 12 §1): every upload is one row, its bytes in chunks of at most
-- 256 KiB so that neither an upload nor a download ever holds a whole file in memory. A row stays 'uploading'
-- while its chunks arrive and becomes 'stored' in the transaction that appends material.uploaded (with the
-- SHA-256) to the case's hash chain; a failed or abandoned upload is deleted with its chunks.

CREATE TABLE materials (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_id         uuid NOT NULL REFERENCES cases (id),
    status          text NOT NULL CHECK (status IN ('uploading', 'stored')),
    kind            text NOT NULL CHECK (kind IN ('application', 'evidence', 'ip_certificate', 'comparison', 'appraisal', 'other')),
    visibility      text NOT NULL CHECK (visibility IN ('shared', 'mediators', 'court')),
    owner_kind      text NOT NULL,
    owner_id        text NOT NULL,
    owner_name      text NOT NULL DEFAULT '',
    owner_side      text NOT NULL DEFAULT '' CHECK (owner_side IN ('', 'applicant', 'respondent')),
    party_id        text NOT NULL DEFAULT '',
    filename        text NOT NULL,
    description     text NOT NULL DEFAULT '',
    content_type    text NOT NULL DEFAULT '',
    size            bigint NOT NULL DEFAULT 0,
    sha256          bytea,
    chunks          integer NOT NULL DEFAULT 0,
    -- The IP right the material certifies (kind ip_certificate): 专利号 / 注册号 and the holder.
    ip_right_kind   text NOT NULL DEFAULT '',
    ip_right_number text NOT NULL DEFAULT '',
    ip_right_holder text NOT NULL DEFAULT '',
    event_seq       bigint,
    created_at      timestamptz NOT NULL
);
CREATE INDEX materials_case ON materials (case_id, created_at);
CREATE INDEX materials_uploading ON materials (created_at) WHERE status = 'uploading';

CREATE TABLE material_chunks (
    material_id uuid NOT NULL REFERENCES materials (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (material_id, seq)
);
-- Uploads are mostly compressed already (PDF, JPEG, PNG, Office zip): store them out of line uncompressed.
ALTER TABLE material_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
