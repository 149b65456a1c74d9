-- Parley's own case numbers per organisation and year (issue 12 §3: "Parley's own number sequence is per
-- organisation and year"). A case is numbered in its scope: the mediation organisation it was registered with,
-- else the court that referred it, else the platform. Each scope counts from 1 again every calendar year (in the
-- calendar's time zone); the number names the scope by the organisation's number code:
--   （2026）知调12字第000001号   organisation or court with number_code 12
--   （2026）知调字第000001号     the platform (the format every case had before this migration)
-- The global case_number_seq is no longer used; existing numbers stay as they are.

-- number_code: a short code of 1–4 digits, unique, assigned in creation order (the digits keep the number in the
-- shape of a court's 案号, （year）+ characters + digits + characters + sequence + 号).
CREATE SEQUENCE organisation_number_code_seq MINVALUE 1 MAXVALUE 9999;
ALTER TABLE organisations ADD COLUMN number_code text;
UPDATE organisations o SET number_code = x.n::text
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM organisations) x WHERE o.id = x.id;
SELECT setval('organisation_number_code_seq', GREATEST((SELECT count(*) FROM organisations), 1), (SELECT count(*) FROM organisations) > 0);
ALTER TABLE organisations ALTER COLUMN number_code SET DEFAULT nextval('organisation_number_code_seq')::text;
ALTER TABLE organisations ALTER COLUMN number_code SET NOT NULL;
ALTER TABLE organisations ADD CONSTRAINT organisations_number_code_key UNIQUE (number_code);
ALTER TABLE organisations ADD CONSTRAINT organisations_number_code_format CHECK (number_code ~ '^[1-9][0-9]{0,3}$');

-- One counter per scope and year, taken with an upsert inside the case-creation transaction: the row stays locked
-- until that transaction ends, so two creations in one scope and year never get the same number, and a rolled-back
-- creation gives its number back (no gaps).
CREATE TABLE case_number_counters (
    scope text   NOT NULL, -- an organisation's id, or 'platform'
    year  int    NOT NULL,
    last  bigint NOT NULL CHECK (last > 0),
    PRIMARY KEY (scope, year)
);
-- The platform's counters go on from the numbers already given (all of them have the platform's format).
INSERT INTO case_number_counters (scope, year, last)
    SELECT 'platform', substring(number from '^（([0-9]{4})）知调字第[0-9]+号$')::int, max(substring(number from '^（[0-9]{4}）知调字第([0-9]+)号$')::bigint)
    FROM cases WHERE number ~ '^（[0-9]{4}）知调字第[0-9]+号$' GROUP BY 2;
