/**
 * Reads every row of every table in a keyspace and reports any clear PAN found in any cell, in any
 * form a value can take: text, the decimal form of a number, bytes read as Latin-1 or hex, the JSON
 * of a collection. For tests that prove PAN protection (PCI DSS 3.5.1) against the real tables, not
 * against what the code meant to write. Findings name the PAN masked, never in clear.
 */
import type { Client } from 'cassandra-driver';
import { maskPan } from '../../authorise/pan-protection';
import { checkKeyspaceName } from './migrations';

export interface PanFinding {
  table: string;
  column: string;
  /** First 6 and last 4 of the PAN found. */
  panMasked: string;
}

export interface PanScanReport {
  tablesScanned: string[];
  rowsScanned: number;
  findings: PanFinding[];
}

/** A generous page: the scan is a test tool run on small keyspaces. */
const SCAN_PAGE_SIZE = 1000;

function cellTexts(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return [String(value)];
  if (Buffer.isBuffer(value)) return [value.toString('latin1'), value.toString('hex')];
  if (value instanceof Date) return [];
  if (value instanceof Map || value instanceof Set) return [JSON.stringify([...value])];
  if (typeof value === 'object') {
    const text = String(value);
    // Long, BigDecimal, Uuid, InetAddress... render through toString(); plain objects through JSON.
    return text === '[object Object]' ? [JSON.stringify(value)] : [text, JSON.stringify(value)];
  }
  return [];
}

export async function scanTablesForPans(client: Client, keyspace: string, pans: readonly string[]): Promise<PanScanReport> {
  const ks = checkKeyspaceName(keyspace);
  const tables = await client.execute(
    'SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [ks], { prepare: true });
  const report: PanScanReport = { tablesScanned: [], rowsScanned: 0, findings: [] };
  const seen = new Set<string>();
  for (const tableRow of tables.rows) {
    const table = String(tableRow.get('table_name'));
    report.tablesScanned.push(table);
    await new Promise<void>((resolve, reject) => {
      client.eachRow(`SELECT * FROM ${ks}."${table.replace(/"/g, '""')}"`, [],
        { prepare: false, autoPage: true, fetchSize: SCAN_PAGE_SIZE },
        (_index: number, row: { keys(): string[]; get(column: string): unknown }) => {
          report.rowsScanned += 1;
          for (const column of row.keys()) {
            for (const text of cellTexts(row.get(column))) {
              for (const pan of pans) {
                if (pan === '' || !text.includes(pan)) continue;
                const key = `${table}|${column}|${pan}`;
                if (seen.has(key)) continue;
                seen.add(key);
                report.findings.push({ table, column, panMasked: maskPan(pan) });
              }
            }
          }
        },
        (error: Error | null | undefined) => (error ? reject(error) : resolve()));
    });
  }
  return report;
}
