import type { Compilable } from 'kysely';
import type { Database, PreparedStatement } from './database.js';

/**
 * Queries built and compiled by Kysely ONCE, then run as driver-prepared statements with
 * values bound by name. On the sign-in path, building and compiling a query and preparing it
 * in the driver cost more than running it. A slot is a placeholder object put where a value
 * goes; compiling records which parameter position each slot landed in.
 */
class Slot {
  constructor(readonly name: string) {}
}

/** A named placeholder, typed as the column's value so it fits anywhere Kysely takes a value. */
export function slot<T>(name: string): T {
  return new Slot(name) as unknown as T;
}

export interface Prepared<V extends Record<string, unknown>> {
  /** The first row (also of `... RETURNING`), keyed by column name. */
  get(values: V): Promise<Record<string, unknown> | undefined>;
  /** Runs the statement; resolves to the number of rows it changed. */
  run(values: V): Promise<number>;
  /** SQLite, inside `Database.atomically` only: `get` and `run`, synchronously. */
  getNow(values: V): Record<string, unknown> | undefined;
  allNow(values: V): Record<string, unknown>[];
  runNow(values: V): number;
}

export function prepare<V extends Record<string, unknown>>(database: Database, query: Compilable): Prepared<V> {
  const compiled = query.compile();
  const names = compiled.parameters.map((parameter, i) => {
    if (!(parameter instanceof Slot)) throw new Error(`prepared query: parameter ${i} is a literal, not a slot (${compiled.sql})`);
    return parameter.name;
  });
  const statement: PreparedStatement = database.prepareStatement(compiled);
  const bind = (values: V) => names.map((name) => values[name]);
  const { getNow, allNow, runNow } = statement;
  return {
    get: (values) => statement.get(bind(values)),
    run: (values) => statement.run(bind(values)),
    getNow(values) {
      if (getNow === undefined) throw new Error('prepared query: getNow needs SQLite (inside Database.atomically)');
      return getNow(bind(values));
    },
    allNow(values) {
      if (allNow === undefined) throw new Error('prepared query: allNow needs SQLite (inside Database.atomically)');
      return allNow(bind(values));
    },
    runNow(values) {
      if (runNow === undefined) throw new Error('prepared query: runNow needs SQLite (inside Database.atomically)');
      return runNow(bind(values));
    },
  };
}
