import { log } from '@temporalio/activity';
import type { Config } from '../config';
import { withFailureMapping } from './failures';

/** What a failed run reports: names and facts, never a secret. */
export interface FailureNotice {
  title: string;
  export_name?: string;
  date: string;
  failed_step: string;
  error_type: string;
  error_message: string;
  attempts?: number;
  workflow_id: string;
  run_id: string;
  /** extra lines, e.g. one per failed export of a fan-out */
  lines?: string[];
  /** the exports that failed (a fan-out's summary): their SFTP connections are named */
  failed_exports?: string[];
}

/** "partner_a (product_data, orders)": which SFTP connection each named export delivers to. */
export function connectionFacts(config: Config, exportNames: string[]): string | undefined {
  const byConnection = new Map<string, string[]>();
  for (const name of exportNames) {
    const connection = Object.hasOwn(config.exports, name) ? config.exports[name].sftp : undefined;
    if (connection) byConnection.set(connection, [...(byConnection.get(connection) ?? []), name]);
  }
  if (byConnection.size === 0) return undefined;
  return [...byConnection].map(([c, names]) => `${c} (${names.join(', ')})`).join(', ');
}

export function runUrl(config: Config, workflowId: string, runId?: string): string {
  const base = config.temporal.ui_url.replace(/\/+$/, '');
  const ns = encodeURIComponent(config.temporal.namespace);
  return `${base}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${encodeURIComponent(runId)}/history` : ''}`;
}

export function slackPayload(notice: FailureNotice, url: string, connections?: string): { text: string; blocks: unknown[] } {
  const facts = [
    notice.export_name ? `*Export:* ${notice.export_name}` : undefined,
    connections ? `*SFTP connection:* ${connections}` : undefined,
    `*Date:* ${notice.date}`,
    `*Failed step:* ${notice.failed_step}`,
    `*Error:* ${notice.error_type}: ${notice.error_message}`,
    notice.attempts !== undefined ? `*Attempts:* ${notice.attempts}` : undefined,
    ...(notice.lines ?? []),
  ].filter(Boolean) as string[];
  const text = `:red_circle: ${notice.title} — ${notice.error_type}: ${notice.error_message}\n${url}`;
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: notice.title.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: facts.join('\n').slice(0, 2900) } },
      { type: 'section', text: { type: 'mrkdwn', text: `<${url}|Open the run in the Temporal Web UI>` } },
    ],
  };
}

export function createNotifySlack(deps: { config: Config; fetch?: typeof fetch }) {
  return async function notifySlack(notice: FailureNotice): Promise<{ sent: boolean }> {
    const webhook = deps.config.slack?.webhook_url;
    if (!webhook) {
      log.warn('no Slack webhook configured; failure not sent to Slack', { title: notice.title, workflow_id: notice.workflow_id });
      return { sent: false };
    }
    const exportsNamed = notice.failed_exports ?? (notice.export_name ? [notice.export_name] : []);
    const payload = slackPayload(notice, runUrl(deps.config, notice.workflow_id, notice.run_id), connectionFacts(deps.config, exportsNamed));
    if (deps.config.slack?.channel) Object.assign(payload, { channel: deps.config.slack.channel });
    return withFailureMapping('Slack', async () => {
      const res = await (deps.fetch ?? fetch)(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(10_000),
      });
      // the webhook URL is a secret: never put it in the error
      if (!res.ok) throw new Error(`Slack webhook answered HTTP ${res.status}`);
      return { sent: true };
    });
  };
}
