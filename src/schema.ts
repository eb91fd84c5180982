/**
 * The REST API's reply shapes, by the names the code uses. Each is a type generated from the
 * tested contract, `jupyter_mm/server/openapi.yaml`, into `openapi.ts` (`jlpm openapi`, which
 * `jlpm build` and jest run first; the file is not committed), so the frontend cannot drift
 * from what the server is tested to send. Request bodies the frontend builds, and the record
 * documents the spec leaves free, are typed where they are used (`api.ts`, `views/types.ts`).
 */

import type { components, operations } from './openapi';

type Schemas = components['schemas'];

/**
 * Run statuses; a RUNNING run whose heartbeat is stale is reported KILLED.
 */
export type RunStatus = Schemas['RunStatus'];

/**
 * A metric value on the wire: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
 */
export type WireNumber = Schemas['MetricValue'];

/**
 * A run as a search returns it (`POST runs/search`): with `columns`, only `id`
 * and the chosen parts are there.
 */
export type IRun = Schemas['Run'];

/**
 * A run as `GET runs/{id}` returns it: every part there.
 */
export type IFullRun = IRun &
  Required<
    Pick<
      IRun,
      | 'name'
      | 'experiment_id'
      | 'status'
      | 'start_time'
      | 'end_time'
      | 'user'
      | 'lifecycle_stage'
      | 'notes'
      | 'params'
      | 'metrics'
      | 'tags'
    >
  >;

/**
 * One page of a run search.
 */
export type ISearchReply =
  components['responses']['RunPage']['content']['application/json'];

/**
 * An experiment as `GET experiments` returns it.
 */
export type IExperiment = Schemas['Experiment'];

/**
 * `POST metrics/history`: one series per (run, key).
 */
export type IMetricSeries = Schemas['MetricSeries'];

/**
 * A file or folder among a run's artifacts.
 */
export type IArtifact = Schemas['Artifact'];

/**
 * A dataset a run used.
 */
export type IDataset = Schemas['Dataset'];

/**
 * A version's monitoring status word, worst last (`GET registry/models/{name}/monitoring`).
 */
export type MonitoringStatus = Schemas['MonitoringStatus'];

/**
 * A model's monitors and, per version, its status, latest evaluation and history.
 */
export type IModelMonitoring = Schemas['ModelMonitoring'];

/**
 * One version's monitoring in `IModelMonitoring`.
 */
export type IVersionMonitoring = IModelMonitoring['versions'][number];

/**
 * One evaluation of a monitor as kept in its monitoring run.
 */
export type IEvaluationRecord = Schemas['EvaluationRecord'];

/**
 * A version's latest evaluation as a drift report, and each statistic over
 * the evaluations kept (`GET .../versions/{v}/monitoring`).
 */
export type IVersionMonitoringReport = Schemas['VersionMonitoringReport'];

/**
 * A verdict of a report, with the distributions behind it.
 */
export type IReportVerdict = Schemas['ReportVerdict'];

/**
 * A version's reference profile (`GET .../versions/{v}/reference`): its digest and the
 * profile document (docs/monitoring.md), both null when the version has none.
 */
export type IReferenceReply =
  operations['getReferenceProfile']['responses']['200']['content']['application/json'];

/**
 * A background job (a notebook re-run or a reproducibility check), without its log.
 */
export type IJob = Schemas['Job'];

/**
 * A job with a piece of its log (`GET jobs/{id}?log_offset=`).
 */
export type IJobWithLog = Schemas['JobWithLog'];

/**
 * A webhook (never its secret).
 */
export type IWebhook = Schemas['Webhook'];

/**
 * One delivery of a webhook, with each attempt and its answer.
 */
export type IWebhookDelivery = Schemas['WebhookDelivery'];

/**
 * How the receiver answered a test delivery.
 */
export type IWebhookTestResult = Schemas['WebhookTestResult'];

/**
 * A version's latest reproducibility check (`GET .../versions/{v}/reproducibility`): the
 * audited summary and its details, both null when it was never checked.
 */
export type IReproducibilityReply =
  operations['getReproducibility']['responses']['200']['content']['application/json'];

/**
 * A retraining record (`GET registry/models/{name}/retrainings`, `GET registry/retrainings/{id}`).
 */
export type IRetraining = Schemas['Retraining'];

/**
 * A model's retraining policy as the server normalised it.
 */
export type IRetrainingPolicy = Schemas['RetrainingPolicy'];

/**
 * A run's models of both kinds (`mm` and the `mlflow` client's logged models)
 * and the versions registered from it (`GET runs/{id}/models`).
 */
export type IRunModelsReply =
  operations['getRunModels']['responses']['200']['content']['application/json'];
export type IRunModel = IRunModelsReply['models'][number];

/**
 * The registry policy in force, and who this session acts as.
 */
export type IRegistryPolicy =
  components['responses']['RegistryPolicy']['content']['application/json'];
