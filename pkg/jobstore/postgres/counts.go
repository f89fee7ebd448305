package postgres

import (
	"context"

	"github.com/brine-project/brine/pkg/jobstore"
)

// JobCounts implements jobstore.Counter with one grouped query per table,
// each on an index led by jid.
func (s *Store) JobCounts(ctx context.Context, jids []string) (map[string]jobstore.Counts, error) {
	out := make(map[string]jobstore.Counts, len(jids))
	if len(jids) == 0 {
		return out, nil
	}
	queries := []struct {
		sql string
		set func(c *jobstore.Counts, n, m int)
	}{
		{`SELECT jid, count(*), 0 FROM job_expected WHERE jid = ANY($1) GROUP BY jid`,
			func(c *jobstore.Counts, n, _ int) { c.Expected = n }},
		{`SELECT jid, count(*), count(*) FILTER (WHERE success) FROM returns WHERE jid = ANY($1) GROUP BY jid`,
			func(c *jobstore.Counts, n, m int) { c.Returned, c.Succeeded = n, m }},
		{`SELECT jid, count(*), 0 FROM job_noreturn WHERE jid = ANY($1) GROUP BY jid`,
			func(c *jobstore.Counts, n, _ int) { c.NoReturn = n }},
	}
	for _, q := range queries {
		rows, err := s.pool.Query(ctx, q.sql, jids)
		if err != nil {
			return nil, wrap("job counts", err)
		}
		for rows.Next() {
			var jid string
			var n, m int
			if err := rows.Scan(&jid, &n, &m); err != nil {
				rows.Close()
				return nil, wrap("job counts", err)
			}
			c := out[jid]
			q.set(&c, n, m)
			out[jid] = c
		}
		if err := rows.Err(); err != nil {
			return nil, wrap("job counts", err)
		}
	}
	return out, nil
}
