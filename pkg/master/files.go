package master

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/brine-project/brine/pkg/fileserver"
	"github.com/brine-project/brine/pkg/job"
	"github.com/brine-project/brine/pkg/proto"
)

// handlePillar compiles the pillar of the minion that sent the request: the
// id comes from the request key that opened it, never from the body, so no
// minion can ask for another's pillar. The reply is sealed with that same
// key. Pillar values are never logged.
func (m *Master) handlePillar(ctx context.Context, id string, body []byte) (proto.ReplyStatus, []byte) {
	var req job.PillarRequest
	if err := job.Decode(job.KindPillar, body, &req); err != nil {
		return proto.ReplyError, []byte(err.Error())
	}
	mn, _, _ := m.cache.minion(id)
	p, errs := m.pillar.Compile(ctx, id, mn.Grains, req.Pillarenv, req.Overrides)
	if len(errs) > 0 {
		// pillar.Error's Redacted form names file and line, never values.
		m.log.Warn("pillar compiled with errors", slog.String("minion", id), slog.Int("errors", len(errs)))
	}
	if len(req.Overrides) == 0 && req.Pillarenv == "" {
		m.cache.setPillar(id, p) // the minion's own pillar, for I@ targeting
	}
	out, err := json.Marshal(p)
	if err != nil {
		return proto.ReplyError, []byte("pillar: " + err.Error())
	}
	return proto.ReplyOK, out
}

// handleFile serves the master's file server: stat (hash), read (in chunks)
// and list. Paths are checked by the file server: nothing escapes a root.
func (m *Master) handleFile(ctx context.Context, id string, body []byte) (proto.ReplyStatus, []byte) {
	var req job.FileRequest
	if err := job.Decode(job.KindFile, body, &req); err != nil {
		return proto.ReplyError, []byte(err.Error())
	}
	env := req.Saltenv
	if env == "" {
		env = "base"
	}
	var rep job.FileReply
	var err error
	switch req.Op {
	case "stat":
		var f fileserver.File
		if f, err = m.files.Find(env, req.Path); err == nil {
			rep.Hash, rep.Size, rep.Mode = f.Hash, f.Size, uint32(f.Mode.Perm())
		}
	case "read":
		var data []byte
		if data, err = m.files.Read(env, req.Path); err == nil {
			rep.Size, rep.Hash = int64(len(data)), fileserver.HashBytes(data)
			if req.Offset < 0 || req.Offset > int64(len(data)) {
				return proto.ReplyError, []byte("file: offset out of range")
			}
			rep.Data = data[req.Offset:min(int64(len(data)), req.Offset+job.FileChunk)]
			m.fileBytes.Add(uint64(len(rep.Data)))
		}
	case "list":
		rep.Files, err = m.files.List(env, req.Path)
	case "envs":
		rep.Files = m.files.Envs()
	default:
		return proto.ReplyError, []byte("file: unknown op " + req.Op)
	}
	status := proto.ReplyOK
	if err != nil {
		status, rep = proto.ReplyError, job.FileReply{Error: err.Error()}
		if errors.Is(err, fileserver.ErrNotFound) {
			status = proto.ReplyNotFound
		}
		m.log.Debug("file request refused", slog.String("minion", id), slog.String("path", req.Path), slog.Any("err", err))
	}
	out, _ := json.Marshal(rep)
	return status, out
}
