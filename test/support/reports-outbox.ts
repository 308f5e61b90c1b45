import { Report } from '../../src/reports/report';
import { ReportsRepository, TransitionResult } from '../../src/reports/reports.repository';

/** The result of a transition that changed the report; throws, naming what came back, otherwise. */
export function changed(result: TransitionResult): Extract<TransitionResult, { kind: 'changed' }> {
  if (result.kind !== 'changed') {
    throw new Error(`expected the transition to change the report, got ${JSON.stringify(result)}`);
  }
  return result;
}

/** Marks everything published, so a test sees only the events it makes. */
export async function drainOutbox(repository: ReportsRepository): Promise<void> {
  for (
    let page = await repository.nextToPublish(500);
    page.length > 0;
    page = await repository.nextToPublish(500)
  ) {
    repository.markPublished(page.map((e) => e.id)); // written by the next call
  }
}

/**
 * Moves pending reports to queued, submitting every move before awaiting any, so that they share one
 * statement; each must change.
 */
export async function queueTogether(
  repository: ReportsRepository,
  reports: readonly Report[],
): Promise<Extract<TransitionResult, { kind: 'changed' }>[]> {
  const results = await Promise.all(
    reports.map((report) => repository.transition(report.userId, report.reportId, 'queued', ['pending'])),
  );
  return results.map(changed);
}
