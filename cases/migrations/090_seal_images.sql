-- Issue 13 §8: a company uploads the picture of its seal with its letter of authority (授权委托书 or 法定代表人
-- 身份证明书) as materials of their own kinds; the agreement prints the picture beside the signature of the person
-- who signs for the company, captioned as an image, not a digital seal.

ALTER TABLE materials DROP CONSTRAINT materials_kind_check;
ALTER TABLE materials ADD CONSTRAINT materials_kind_check
    CHECK (kind IN ('application', 'evidence', 'ip_certificate', 'comparison', 'appraisal', 'other', 'seal_image', 'authority_letter'));
