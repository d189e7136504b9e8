-- OpenJarvis's traces.db: the schema its TraceStore creates
-- (src/openjarvis/traces/store.py, open-jarvis/OpenJarvis 620f20cc), and 24 traces.
-- The rows are ours: arithmetic (the 'math' class OpenJarvis derives from "calculate",
-- "compute", "solve"), inline code ('code'), short questions ('short') and longer ones
-- ('general'); no column holds a query class, as in OpenJarvis.
CREATE TABLE IF NOT EXISTS traces (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id             TEXT    NOT NULL UNIQUE,
    query                TEXT    NOT NULL DEFAULT '',
    agent                TEXT    NOT NULL DEFAULT '',
    model                TEXT    NOT NULL DEFAULT '',
    engine               TEXT    NOT NULL DEFAULT '',
    result               TEXT    NOT NULL DEFAULT '',
    outcome              TEXT,
    feedback             REAL,
    started_at           REAL    NOT NULL DEFAULT 0.0,
    ended_at             REAL    NOT NULL DEFAULT 0.0,
    total_tokens         INTEGER NOT NULL DEFAULT 0,
    total_latency_seconds REAL   NOT NULL DEFAULT 0.0,
    metadata             TEXT    NOT NULL DEFAULT '{}',
    messages             TEXT    NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS trace_steps (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id         TEXT    NOT NULL,
    step_index       INTEGER NOT NULL,
    step_type        TEXT    NOT NULL,
    timestamp        REAL    NOT NULL DEFAULT 0.0,
    duration_seconds REAL    NOT NULL DEFAULT 0.0,
    input            TEXT    NOT NULL DEFAULT '{}',
    output           TEXT    NOT NULL DEFAULT '{}',
    metadata         TEXT    NOT NULL DEFAULT '{}',
    FOREIGN KEY (trace_id) REFERENCES traces(trace_id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS traces_fts USING fts5(
    trace_id, query, result, agent,
    content='traces',
    content_rowid='rowid',
    tokenize='unicode61'
);
CREATE TRIGGER IF NOT EXISTS traces_fts_ai AFTER INSERT ON traces BEGIN
    INSERT INTO traces_fts(rowid, trace_id, query, result, agent)
    VALUES (new.rowid, new.trace_id, new.query, new.result, new.agent);
END;

INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-001', 'Calculate 17 * 23.', 'orchestrator', 'qwen3:8b', 'ollama', '391', 'success', 1.0, 1787300000.0, 1787300002.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-002', 'Compute 144 / 12.', 'orchestrator', 'qwen3:8b', 'ollama', '12', 'success', 1.0, 1787300600.0, 1787300602.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-003', 'Calculate 48 * 52.', 'orchestrator', 'qwen3:8b', 'ollama', '2486', 'failure', 0.0, 1787301200.0, 1787301202.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-004', 'Compute 19 * 21.', 'orchestrator', 'qwen3:8b', 'ollama', '389', 'failure', 0.1, 1787301800.0, 1787301802.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-005', 'Solve for x: 2x + 6 = 14.', 'orchestrator', 'qwen3:8b', 'ollama', '4', 'success', 0.9, 1787302400.0, 1787302402.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-006', 'Calculate 250 + 125.', 'orchestrator', 'qwen3:8b', 'ollama', '375', 'success', 1.0, 1787303000.0, 1787303002.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-007', 'Calculate 33 * 33.', 'orchestrator', 'qwen3:8b', 'ollama', '1079', 'failure', 0.2, 1787303600.0, 1787303602.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-008', 'What is the capital of France?', 'orchestrator', 'qwen3:8b', 'ollama', 'Paris', 'success', 1.0, 1787304200.0, 1787304202.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-009', 'Who wrote Hamlet?', 'orchestrator', 'qwen3:8b', 'ollama', 'Shakespeare', 'success', 1.0, 1787304800.0, 1787304802.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-010', 'What is the capital of Peru?', 'orchestrator', 'qwen3:8b', 'ollama', 'Quito', 'failure', 0.0, 1787305400.0, 1787305402.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-011', 'How many legs does a spider have?', 'orchestrator', 'qwen3:8b', 'ollama', '8', 'success', 1.0, 1787306000.0, 1787306002.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-012', 'What colour is the sky on a clear day?', 'orchestrator', 'qwen3:8b', 'ollama', 'Blue', 'success', 0.9, 1787306600.0, 1787306602.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-013', 'What does `len([1, 2, 3])` return in Python?', 'orchestrator', 'qwen3:8b', 'ollama', '3', 'success', 1.0, 1787307200.0, 1787307202.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-014', 'What does `''ab'' * 2` evaluate to in Python?', 'orchestrator', 'qwen3:8b', 'ollama', 'abab', 'success', 0.9, 1787307800.0, 1787307802.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-015', 'In Python, def f(x): return x + 1 -- what is f(4)?', 'orchestrator', 'qwen3:8b', 'ollama', '5', 'success', 1.0, 1787308400.0, 1787308402.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-016', 'What does `sorted([3, 1, 2])[0]` return?', 'orchestrator', 'qwen3:8b', 'ollama', '2', 'failure', 0.0, 1787309000.0, 1787309002.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-017', 'Please tell me, in one word, which planet in our solar system is the largest.', 'orchestrator', 'qwen3:8b', 'ollama', 'Jupiter', 'success', 1.0, 1787309600.0, 1787309602.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-018', 'In one word: which gas do green plants take in from the air to make their food?', 'orchestrator', 'qwen3:8b', 'ollama', 'CO2', 'success', 0.8, 1787310200.0, 1787310202.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-019', 'Give me the name of the ocean that lies between Africa and Australia, one word.', 'orchestrator', 'qwen3:8b', 'ollama', 'Indian', 'success', 1.0, 1787310800.0, 1787310802.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-020', 'Which metal is liquid at room temperature? Answer with the element''s name only.', 'orchestrator', 'qwen3:8b', 'ollama', 'Mercury', 'success', 1.0, 1787311400.0, 1787311402.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-021', 'What is the chemical symbol of gold?', 'orchestrator', 'qwen3:8b', 'ollama', 'Au', 'success', 1.0, 1787312000.0, 1787312002.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-022', 'How many days are in a leap year?', 'orchestrator', 'qwen3:8b', 'ollama', '366', 'success', 1.0, 1787312600.0, 1787312602.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-023', 'Summarise my week for me please, focusing on what matters for next Monday.', 'orchestrator', 'qwen3:8b', 'ollama', '', NULL, NULL, 1787313200.0, 1787313202.5, 120, 2.5, '{}', '[]');
INSERT INTO traces (trace_id, query, agent, model, engine, result, outcome, feedback, started_at, ended_at, total_tokens, total_latency_seconds, metadata, messages) VALUES ('t-024', 'Remind me what we talked about yesterday afternoon regarding the garden project?', 'orchestrator', 'qwen3:8b', 'ollama', '', NULL, NULL, 1787313800.0, 1787313802.5, 120, 2.5, '{}', '[]');
INSERT INTO trace_steps (trace_id, step_index, step_type, timestamp, duration_seconds, input, output, metadata) VALUES ('t-001', 0, 'tool_call', 1787300000.5, 0.1, '{"tool": "calculator", "arguments": {"expression": "17 * 23"}}', '{"success": true, "result": "391"}', '{}');
INSERT INTO trace_steps (trace_id, step_index, step_type, timestamp, duration_seconds, input, output, metadata) VALUES ('t-001', 1, 'respond', 1787300001.0, 0.0, '{}', '{"content": "391"}', '{}');
