package docflow

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/parley-mediation/parley/cases"
)

// runJob does one claimed job.
func (s *Service) runJob(ctx context.Context, j *cases.Job) error {
	switch j.Kind {
	case cases.JobCompletion:
		_, err := s.completion(ctx, j.DocumentID)
		return err
	}
	return fmt.Errorf("docflow: unknown job kind %q", j.Kind)
}

// finishJob records the outcome of a claimed job.
func (s *Service) finishJob(ctx context.Context, j *cases.Job, err error) error {
	if err != nil {
		// Retry after Retry, doubling with each attempt up to an hour: a job that keeps failing is retried (and
		// logged) until it succeeds, without hammering what it depends on.
		wait := s.Retry
		for i := 1; i < j.Attempts && wait < time.Hour; i++ {
			wait *= 2
		}
		wait = min(wait, time.Hour)
		s.Log.Error("document job failed", "job", j.ID, "kind", j.Kind, "document", j.DocumentID, "attempt", j.Attempts, "retry_in", wait, "err", err)
		return s.Store.JobFailed(ctx, j.ID, err, wait)
	}
	return s.Store.JobDone(ctx, j.ID)
}

// runJobsOf runs the due jobs of a document now, in the request that made them (the sweeper retries what fails or
// dies here). It never fails the request: the signature is committed and the job is durable.
func (s *Service) runJobsOf(ctx context.Context, d *cases.Document) {
	ctx = context.WithoutCancel(ctx)
	for i := 0; i < 4; i++ {
		j, err := s.Store.ClaimJob(ctx, d.ID, s.Lease)
		if err != nil || j == nil {
			return
		}
		if err := s.finishJob(ctx, j, s.runJob(ctx, j)); err != nil {
			s.Log.Error("document job", "job", j.ID, "err", err)
			return
		}
	}
}

// RunJobs runs due jobs until none is left (or ctx ends), then makes the court documents still missing
// (sweepCourtDocuments), and returns how many it did.
func (s *Service) RunJobs(ctx context.Context) (int, error) {
	n, err := s.runDueJobs(ctx)
	if err != nil {
		return n, err
	}
	return n + s.sweepCourtDocuments(ctx), nil
}

func (s *Service) runDueJobs(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		j, err := s.Store.ClaimJob(ctx, "", s.Lease)
		if err != nil {
			return n, err
		}
		if j == nil {
			return n, nil
		}
		jerr := s.runJob(ctx, j)
		if err := s.finishJob(context.WithoutCancel(ctx), j, jerr); err != nil {
			return n, err
		}
		if jerr == nil {
			n++
		}
	}
	return n, ctx.Err()
}

// RunSweeper runs due jobs every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.RunJobs(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("document jobs", "err", err)
		case n > 0:
			logger.Info("document jobs", "done", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
