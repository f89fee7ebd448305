package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/brine-project/brine/pkg/jobstore"
)

// JobCounts implements jobstore.Counter with one grouped query per table.
func (s *Store) JobCounts(ctx context.Context, jids []string) (map[string]jobstore.Counts, error) {
	out := make(map[string]jobstore.Counts, len(jids))
	if len(jids) == 0 {
		return out, nil
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(jids)), ",")
	args := make([]any, len(jids))
	for i, j := range jids {
		args[i] = j
	}
	queries := []struct {
		sql string
		set func(c *jobstore.Counts, n, m int)
	}{
		{`SELECT jid, count(*), 0 FROM job_expected WHERE jid IN (` + in + `) GROUP BY jid`,
			func(c *jobstore.Counts, n, _ int) { c.Expected = n }},
		{`SELECT jid, count(*), coalesce(sum(success), 0) FROM returns WHERE jid IN (` + in + `) GROUP BY jid`,
			func(c *jobstore.Counts, n, m int) { c.Returned, c.Succeeded = n, m }},
		{`SELECT jid, count(*), 0 FROM job_noreturn WHERE jid IN (` + in + `) GROUP BY jid`,
			func(c *jobstore.Counts, n, _ int) { c.NoReturn = n }},
	}
	for _, q := range queries {
		rows, err := s.r.QueryContext(ctx, q.sql, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: job counts: %w", err)
		}
		for rows.Next() {
			var jid string
			var n, m int
			if err := rows.Scan(&jid, &n, &m); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: job counts: %w", err)
			}
			c := out[jid]
			q.set(&c, n, m)
			out[jid] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: job counts: %w", err)
		}
	}
	return out, nil
}
