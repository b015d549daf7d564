-- The reporting cadence of a directive (issue #8): its assignees are asked for a progress
-- report every so many calendar days (weekly by default) while their task is open. The
-- process arms a non-interrupting cycle timer on `thuc-hien` from it (variable reportCycle).
ALTER TABLE directives ADD COLUMN report_every_days INTEGER NOT NULL DEFAULT 7
    CHECK (report_every_days BETWEEN 1 AND 92);
