-- Inserts, an index build and queries, on an in-memory database.
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
INSERT INTO t(k, s) SELECT (x * 7919) % 100003, printf('row-%d-%s', x, hex(x * x)) FROM c;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_s ON t(s);
SELECT count(*), sum(k), max(length(s)) FROM t;
SELECT k, count(*) FROM t WHERE k BETWEEN 100 AND 110 GROUP BY k ORDER BY k;
SELECT s FROM t WHERE k = 4242 ORDER BY id;
SELECT count(DISTINCT k) FROM t;
DELETE FROM t WHERE id % 3 = 0;
SELECT count(*), sum(length(s)) FROM t;
SELECT length(group_concat(s, ',')) FROM (SELECT s FROM t ORDER BY s LIMIT 50000);
UPDATE t SET s = s || s WHERE k % 7 = 0;
SELECT sum(length(s)) FROM t;
PRAGMA integrity_check;
