-- Ten messages to ten rooms in one statement and one commit, as the store's group commit writes
-- a batch at load (chat_store._APPEND_PG: one room bump, message and audit entry per row).
-- The ten rooms are a block of consecutive ones (:rooms / 10 blocks), locked in one order.
\set b random(0, :rooms / 10 - 1)
WITH input AS (
    SELECT 'consultation:' || (:b * 10 + g) AS room, 'c' || :client_id || '-' || txid_current() || '-' || g AS client
    FROM generate_series(1, 10) g
), bumped AS (
    UPDATE chat_room r SET last_seq = r.last_seq + 1 FROM input i WHERE r.name = i.room
    RETURNING r.name, r.last_seq
), inserted AS (
    INSERT INTO chat_message (room, seq, client_id, sender_id, sender_role, sender_name, body, created_at, kind)
    SELECT b.name, b.last_seq, i.client, 'pgbench', 'patient', 'Patient Bench', repeat('x', 100), now(), 'text'
    FROM bumped b JOIN input i ON i.room = b.name
    RETURNING seq, room
), audited AS (
    INSERT INTO cc_audit_entry
        (id, at, actor_id, actor_role, action, resource_type, resource_id, patient_id, outcome, ip, request_id)
    SELECT (lpad(to_hex(floor(extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '7' || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid,
        now(), NULL, 'patient', 'messages.write', 'messages', room, NULL, 'success', '', ''
    FROM inserted
)
SELECT count(*) FROM inserted;
