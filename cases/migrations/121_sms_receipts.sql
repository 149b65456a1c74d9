-- An HTTP SMS provider (issue 12 §2) answers each message it accepts with its own message id, and later reports
-- by a signed delivery receipt whether the message reached the phone. The id is kept on the service record so the
-- receipt finds it; failed_at is when a failure was recorded (the provider's refusal or its receipt).
ALTER TABLE service_records ADD COLUMN provider_message_id text NOT NULL DEFAULT '';
ALTER TABLE service_records ADD COLUMN failed_at timestamptz;
CREATE UNIQUE INDEX service_records_provider_message ON service_records (channel, provider_message_id) WHERE provider_message_id <> '';
