package minion

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/brine-project/brine/pkg/fileserver"
	"github.com/brine-project/brine/pkg/job"
	"github.com/brine-project/brine/pkg/module"
	"github.com/brine-project/brine/pkg/proto"
)

// masterFiles reaches the master's file server over the encrypted request
// channel: it is the fileserver.Fetcher (and Lister) behind the minion's
// file cache.
type masterFiles struct{ m *Minion }

var (
	_ fileserver.Fetcher = masterFiles{}
	_ fileserver.Lister  = masterFiles{}
)

func (f masterFiles) ask(ctx context.Context, req job.FileRequest) (*job.FileReply, error) {
	body, _ := json.Marshal(req)
	reply, err := f.m.call(ctx, job.KindFile, body)
	if reply != nil && reply.Status != proto.ReplyOK {
		var rep job.FileReply
		_ = json.Unmarshal(reply.Body, &rep)
		if reply.Status == proto.ReplyNotFound {
			return nil, fmt.Errorf("%w: salt://%s in %s", fileserver.ErrNotFound, req.Path, req.Saltenv)
		}
		return nil, fmt.Errorf("minion: file server: %s", rep.Error)
	}
	if err != nil {
		return nil, err
	}
	var rep job.FileReply
	if err := json.Unmarshal(reply.Body, &rep); err != nil {
		return nil, fmt.Errorf("minion: file server reply: %w", err)
	}
	return &rep, nil
}

// Stat implements fileserver.Fetcher.
func (f masterFiles) Stat(ctx context.Context, env, path string) (string, error) {
	rep, err := f.ask(ctx, job.FileRequest{Op: "stat", Saltenv: env, Path: path})
	if err != nil {
		return "", err
	}
	return rep.Hash, nil
}

// Fetch implements fileserver.Fetcher, in chunks.
func (f masterFiles) Fetch(ctx context.Context, env, path string) ([]byte, error) {
	var data []byte
	for {
		rep, err := f.ask(ctx, job.FileRequest{Op: "read", Saltenv: env, Path: path, Offset: int64(len(data))})
		if err != nil {
			return nil, err
		}
		data = append(data, rep.Data...)
		if int64(len(data)) >= rep.Size || len(rep.Data) == 0 {
			if int64(len(data)) != rep.Size {
				return nil, fmt.Errorf("minion: salt://%s changed while it was read", path)
			}
			return data, nil
		}
	}
}

// ListFiles implements fileserver.Lister.
func (f masterFiles) ListFiles(ctx context.Context, env, prefix string) ([]string, error) {
	rep, err := f.ask(ctx, job.FileRequest{Op: "list", Saltenv: env, Path: prefix})
	if err != nil {
		return nil, err
	}
	return rep.Files, nil
}

// Envs lists the master's file server environments (highstate reads the
// top file of each).
func (f masterFiles) Envs(ctx context.Context) ([]string, error) {
	rep, err := f.ask(ctx, job.FileRequest{Op: "envs"})
	if err != nil {
		return nil, err
	}
	return rep.Files, nil
}

// FileClient implements module.FileClientProvider: cp.* and states fetch
// salt:// files through the minion's cache.
func (m *Minion) FileClient() module.FileClient { return m.files }
