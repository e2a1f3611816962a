-- One chat message as the store writes it (chat_store._APPEND_NEW_ONE_PG with its audit entry):
-- the room's seq bumped unless the message is a resend, the message inserted, its audit entry
-- written, in one statement and one commit. Rooms are chosen at random from :rooms.
\set r random(1, :rooms)
WITH bumped AS (
    UPDATE chat_room SET last_seq = last_seq + 1 WHERE name = 'consultation:' || :r AND NOT EXISTS (
        SELECT 1 FROM chat_message WHERE sender_id = 'pgbench' AND room = 'consultation:' || :r
            AND client_id = 'c' || :client_id || '-' || :r || '-' || txid_current())
    RETURNING last_seq
), inserted AS (
    INSERT INTO chat_message (room, seq, client_id, sender_id, sender_role, sender_name, body, created_at, kind)
    SELECT 'consultation:' || :r, last_seq, 'c' || :client_id || '-' || :r || '-' || txid_current(), 'pgbench',
        'patient', 'Patient Bench', repeat('x', 100), now(), 'text' FROM bumped
    RETURNING seq
), audited AS (
    INSERT INTO cc_audit_entry
        (id, at, actor_id, actor_role, action, resource_type, resource_id, patient_id, outcome, ip, request_id)
    SELECT (lpad(to_hex(floor(extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '7' || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid, now(), NULL, 'patient', 'messages.write', 'messages', :r::text, NULL, 'success', '', ''
    FROM inserted
)
SELECT seq FROM inserted;
