-- The same message without its audit entry (AUDIT of messages off, or the message as its own audit record).
\set r random(1, :rooms)
WITH bumped AS (
    UPDATE chat_room SET last_seq = last_seq + 1 WHERE name = 'consultation:' || :r AND NOT EXISTS (
        SELECT 1 FROM chat_message WHERE sender_id = 'pgbench' AND room = 'consultation:' || :r
            AND client_id = 'c' || :client_id || '-' || :r || '-' || txid_current())
    RETURNING last_seq
)
INSERT INTO chat_message (room, seq, client_id, sender_id, sender_role, sender_name, body, created_at, kind)
SELECT 'consultation:' || :r, last_seq, 'c' || :client_id || '-' || :r || '-' || txid_current(), 'pgbench',
    'patient', 'Patient Bench', repeat('x', 100), now(), 'text' FROM bumped;
