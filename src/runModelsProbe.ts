/**
 * Whether the run panel's selected run holds a model, by the server's answer
 * (`GET runs/{id}/models`, `core/models/run_models.py`): the same truth as the
 * run view's Register button. The run's tags (`mm.models`, `mm.mlflow.models`)
 * cannot say it: an MLflow logged model the run only logged as an output, or
 * one kept apart from the run, is in no tag.
 */

import type { IRun, IRunModel, IRunModelsReply } from './schema';

/**
 * Asks for the models of the one selected run and keeps the answer for that
 * row. A row is replaced whenever the run changes (a live event, an action),
 * and every change of selection asks again, so the answer is never older than
 * the row it is shown for.
 */
export class RunModelsProbe {
  constructor(
    private readonly _lookup: (runId: string) => Promise<IRunModelsReply>,
    /** Called when an answer arrives (the command's state changed). */
    private readonly _answered: () => void
  ) {}

  /**
   * Follow the selection: ask about `run` unless this very row was asked
   * about last (null: not one run selected; the last answer is forgotten).
   */
  follow(run: IRun | null): void {
    if (run === this._run) {
      return;
    }
    this._run = run;
    this._models = null;
    if (!run) {
      return;
    }
    this._lookup(run.id).then(
      reply => this._answer(run, reply.models),
      // Unknown (the form asks again and shows the server's error).
      () => undefined
    );
  }

  /**
   * The models of `run` when the server has answered for this row, else null.
   */
  known(run: IRun): IRunModel[] | null {
    return run === this._run ? this._models : null;
  }

  private _answer(run: IRun, models: IRunModel[]): void {
    if (run !== this._run) {
      return; // the selection moved on: a newer question is pending
    }
    this._models = models;
    this._answered();
  }

  private _run: IRun | null = null;
  private _models: IRunModel[] | null = null;
}
