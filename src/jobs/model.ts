/**
 * The sidebar's job list: the jobs started in this session and any job still
 * queued or running on the server, each with the tail of its live log. Polls
 * while a job is unfinished (`GET jobs/{id}?log_offset=`: only the new part of
 * the log comes back) and refreshes when a job's end is announced on the event
 * bus (`rerun.finished`).
 */

import { ISignal, Signal } from '@lumino/signaling';

import { errorText } from '../models/api';
import type { IJob } from '../schema';
import { IJobsApi, isEnded } from './api';

/**
 * How much of a job's log is kept and shown (characters, the end of it).
 */
export const LOG_TAIL = 4000;

/**
 * The last `limit` characters of `text`.
 */
export function tail(text: string, limit = LOG_TAIL): string {
  return text.length > limit ? text.slice(text.length - limit) : text;
}

export class JobsModel {
  constructor(
    readonly api: IJobsApi,
    options: { interval?: number } = {}
  ) {
    this._interval = options.interval ?? 1000;
  }

  /**
   * The jobs shown, newest first.
   */
  get jobs(): IJob[] {
    return this._jobs;
  }

  /**
   * Why the last refresh failed, else null.
   */
  error: string | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * The kept end of a job's log ('' before any).
   */
  log(jobId: string): string {
    return this._logs.get(jobId)?.text ?? '';
  }

  /**
   * Show a job just started here and follow it.
   */
  track(job: IJob): void {
    this._mine.add(job.job_id);
    this._merge([job]);
    this._changed.emit();
    void this.refresh();
  }

  /**
   * Ask the server for the jobs and the new part of each unfinished job's log;
   * polls again while one is unfinished.
   */
  async refresh(): Promise<void> {
    if (this._disposed) {
      return;
    }
    this._clearTimer();
    try {
      const listed = await this.api.list();
      this._merge(listed.filter(j => !isEnded(j) || this._mine.has(j.job_id)));
      const following = this._jobs.filter(
        j => !isEnded(j) || !this._logs.get(j.job_id)?.complete
      );
      await Promise.all(following.map(j => this._follow(j.job_id)));
      this.error = null;
    } catch (error) {
      this.error = errorText(error);
    }
    if (this._disposed) {
      return;
    }
    this._changed.emit();
    if (this._jobs.some(j => !isEnded(j))) {
      this._timer = setTimeout(() => void this.refresh(), this._interval);
    }
  }

  /**
   * Why the last Cancel of a job was refused (it had ended already), if it was.
   */
  cancelError(jobId: string): string | null {
    return this._cancelErrors.get(jobId) ?? null;
  }

  /**
   * Ask the server to stop a job; a refusal is kept for the job.
   */
  async cancel(jobId: string): Promise<void> {
    try {
      this._merge([await this.api.cancel(jobId)]);
      this._cancelErrors.delete(jobId);
    } catch (error) {
      this._cancelErrors.set(jobId, errorText(error));
    }
    this._changed.emit();
    await this.refresh();
  }

  /**
   * A job ended somewhere (its event): read it again.
   */
  handleEvent(): void {
    void this.refresh();
  }

  dispose(): void {
    this._disposed = true;
    this._clearTimer();
    Signal.clearData(this);
  }

  private async _follow(jobId: string): Promise<void> {
    const offset = this._logs.get(jobId)?.offset ?? 0;
    const job = await this.api.get(jobId, offset);
    const { log, ...rest } = job;
    const kept = this._logs.get(jobId) ?? {
      text: '',
      offset: 0,
      complete: false
    };
    // Two refreshes may overlap: only the one reading from the kept offset appends.
    if (kept.offset === offset) {
      kept.text = tail(kept.text + log.text);
      kept.offset = log.next_offset;
      kept.complete = log.complete;
      this._logs.set(jobId, kept);
    }
    this._merge([rest]);
  }

  private _merge(jobs: IJob[]): void {
    const byId = new Map(this._jobs.map(j => [j.job_id, j]));
    jobs.forEach(j => byId.set(j.job_id, j));
    this._jobs = [...byId.values()].sort(
      (a, b) => b.created_time - a.created_time
    );
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _jobs: IJob[] = [];
  private _logs = new Map<
    string,
    { text: string; offset: number; complete: boolean }
  >();
  private _mine = new Set<string>();
  private _cancelErrors = new Map<string, string>();
  private _interval: number;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
