/**
 * Prints one plain summary line as the very last line of a run,
 * "tests: N passed, N failed, N skipped", which CI reads to know how many tests ran.
 */
class SummaryReporter {
  onRunStart() {
    // Which Node the tests run on: the services they spawn run on the same (process.execPath).
    process.stderr.write(`[node] ${process.version} (${process.execPath})\n`);
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`;
    // Jest's own summary is printed after reporters run; the exit hook comes after it.
    process.once('exit', () => process.stderr.write(`\n${line}`));
  }
}

module.exports = SummaryReporter;
