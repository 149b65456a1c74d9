-- How each participant took part in a session (OMR Art. 18: video, voice or text), chosen when they join;
-- the session record shows it (视频 / 语音 / 文字).
ALTER TABLE session_attendance ADD COLUMN mode text NOT NULL DEFAULT 'video' CHECK (mode IN ('video', 'voice', 'text'));
