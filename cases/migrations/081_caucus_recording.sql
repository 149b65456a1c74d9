-- Issue 14: a caucus recorded with every member's consent goes into a recording of its own, which only the
-- caucus's readers (MayReadCaucus) may open. NULL: the joint room.
ALTER TABLE session_recordings ADD COLUMN caucus_ref bigint REFERENCES session_caucuses (id);
CREATE INDEX session_recordings_caucus ON session_recordings (caucus_ref) WHERE caucus_ref IS NOT NULL;
