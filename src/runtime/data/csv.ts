import { DataError, datasetFromExamples, type Dataset } from './dataset';

/**
 * The user's own table as a classification dataset: a CSV file with a header row, numeric feature
 * columns and one label column (by name; the last column unless told). Labels may be words or
 * whole numbers; they become the class names (numbers in numeric order, words alphabetically).
 * Every problem is a DataError that names the row (as counted in the file, the header being row 1)
 * and the column.
 */
export interface CsvOptions {
  /** The label column's name; the last column when left out. */
  label?: string;
  /** For messages and the dataset's name (e.g. the file name). */
  name?: string;
  seed?: number;
  /** Called now and then while parsing, with the fraction of the text read (0 to 1). */
  onProgress?: (fraction: number) => void;
}

/** The most classes a dataset holds (labels are stored as bytes). */
export const MAX_CLASSES = 256;

interface Record_ {
  fields: string[];
  /** The file line the record starts on (1-based). */
  line: number;
}

/** RFC 4180 records: quoted fields (with "" for a quote, commas and line breaks inside), CRLF, LF or CR line ends, a BOM. */
export function parseCsvRecords(text: string, delimiter = ',', onProgress?: (fraction: number) => void): Record_[] {
  const records: Record_[] = [];
  forEachCsvRecord(text, delimiter, (fields, line) => records.push({ fields, line }), onProgress);
  return records;
}

/**
 * The same records, handed over one at a time and not kept: a 50 MB file held as a list of
 * records took about 600 MB; handed over, only what the caller keeps stays.
 */
export function forEachCsvRecord(
  text: string,
  delimiter: string,
  onRecord: (fields: string[], line: number) => void,
  onProgress?: (fraction: number) => void,
): void {
  let count = 0;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let fields: string[] = [];
  let field = '';
  let startLine = 1;
  let quoted = false;
  let wasQuoted = false;
  const endRecord = () => {
    fields.push(field);
    // A blank line (one empty, unquoted field) is not a record.
    if (!(fields.length === 1 && fields[0] === '' && !wasQuoted)) {
      count++;
      onRecord(fields, startLine);
    }
    fields = [];
    field = '';
    wasQuoted = false;
  };
  const step = 1 << 20;
  let nextReport = step;
  while (i < text.length) {
    if (onProgress && i >= nextReport) {
      onProgress(i / text.length);
      nextReport = i + step;
    }
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field.trim() === '') {
      quoted = true;
      wasQuoted = true;
      field = '';
      i++;
      continue;
    }
    if (ch === delimiter) {
      fields.push(field);
      field = '';
      i++;
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      endRecord();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      startLine = line;
      continue;
    }
    field += ch;
    i++;
  }
  if (quoted) throw new DataError(`Row ${count + 1} (line ${startLine}): a quoted field is never closed (a " is missing).`);
  if (field !== '' || fields.length || wasQuoted) endRecord();
}

const ordinal = (n: number) =>
  `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;
const quote = (s: string) => `"${s.length > 40 ? `${s.slice(0, 40)}…` : s}"`;

/** The header's column names, for the label picker. */
export function csvColumns(text: string): string[] {
  const first = parseCsvRecords(text.slice(0, 64 * 1024).split(/\r\n|\n|\r/)[0] ?? '');
  return first[0]?.fields.map((f) => f.trim()) ?? [];
}

export function parseCsv(text: string, options: CsvOptions = {}): Dataset {
  const name = options.name ?? 'the CSV file';
  const delimiter = sniffDelimiter(text);
  let header: string[] | null = null;
  let labelColumn = -1;
  let labelName = '';
  let features = 0;
  let rows = 0;
  // Rows are converted as they are parsed; x grows by doubling, labels are kept as ids of distinct values.
  let x = new Float32Array(0);
  let labelIds = new Uint32Array(0);
  const labelIdOf = new Map<string, number>();
  /** The header is checked when the first data row arrives, so a file with a header alone says so first. */
  const checkHeader = (h: string[]) => {
    if (h.length < 2) throw new DataError(`${name} has ${h.length} column; it needs at least one feature column and a label column (separated by commas).`);
    h.forEach((col, c) => {
      if (!col) throw new DataError(`Row 1 (the header), column ${c + 1}: the column has no name.`);
    });
    labelColumn = options.label === undefined ? h.length - 1 : h.indexOf(options.label.trim());
    if (labelColumn < 0) {
      throw new DataError(`There is no label column "${options.label}" in ${name}; its columns are ${h.map((col) => `"${col}"`).join(', ')}.`);
    }
    labelName = h[labelColumn]!;
    features = h.length - 1;
    x = new Float32Array(1024 * features);
    labelIds = new Uint32Array(1024);
  };
  forEachCsvRecord(
    text,
    delimiter,
    (fields, line) => {
      if (!header) {
        header = fields.map((f) => f.trim());
        return;
      }
      if (rows === 0) checkHeader(header);
      const r = rows;
      const rowNumber = r + 2;
      const where = `Row ${rowNumber}${line !== rowNumber ? ` (line ${line})` : ''}`;
      if (fields.length !== header.length) {
        throw new DataError(
          `${where} has ${fields.length} value${fields.length === 1 ? '' : 's'}, but the header has ${header.length} columns. Every row needs one value per column.`,
        );
      }
      if ((r + 1) * features > x.length) {
        const bigger = new Float32Array(x.length * 2);
        bigger.set(x);
        x = bigger;
      }
      if (r + 1 > labelIds.length) {
        const bigger = new Uint32Array(labelIds.length * 2);
        bigger.set(labelIds);
        labelIds = bigger;
      }
      let k = 0;
      for (let c = 0; c < fields.length; c++) {
        const value = fields[c]!.trim();
        if (c === labelColumn) {
          if (!value) throw new DataError(`${where}, column "${labelName}" (the label): the label is empty.`);
          let id = labelIdOf.get(value);
          if (id === undefined) labelIdOf.set(value, (id = labelIdOf.size));
          labelIds[r] = id;
          continue;
        }
        const n = value === '' ? NaN : Number(value);
        if (!Number.isFinite(n)) {
          const what = value === '' ? 'is empty' : `holds ${quote(value)}, which is not a number`;
          throw new DataError(
            `${where}, column "${header[c]}" (the ${ordinal(c + 1)}): the cell ${what}. Every column except the label ("${labelName}") must hold numbers.`,
          );
        }
        x[r * features + k++] = n;
      }
      rows++;
    },
    options.onProgress,
  );
  if (!header) throw new DataError(`${name} is empty: it needs a header row and at least two rows of data.`);
  if (rows === 0) throw new DataError(`${name} has a header row but no data rows.`);
  const distinct = [...labelIdOf.keys()];
  const numeric = distinct.every((l) => /^[+-]?\d+$/.test(l));
  const classNames = numeric ? [...distinct].sort((a, b) => Number(a) - Number(b)) : [...distinct].sort();
  if (classNames.length < 2) {
    throw new DataError(
      `The label column "${labelName}" holds only one class (${quote(classNames[0]!)}); a classifier needs at least two. Is "${labelName}" the right label column?`,
    );
  }
  if (classNames.length > MAX_CLASSES) {
    throw new DataError(
      `The label column "${labelName}" holds ${classNames.length} different values; Patchbay trains on at most ${MAX_CLASSES} classes. Is "${labelName}" the right label column?`,
    );
  }
  const classOfId = new Uint8Array(distinct.length);
  classNames.forEach((c, i) => {
    classOfId[labelIdOf.get(c)!] = i;
  });
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) y[r] = classOfId[labelIds[r]!]!;
  return datasetFromExamples({ name, inputShape: [features], classNames, x: x.subarray(0, rows * features), y, seed: options.seed ?? 7 });
}

/** Commas, unless the header has none and has semicolons or tabs. */
function sniffDelimiter(text: string): string {
  const header = text.slice(0, 4096).split(/\r\n|\n|\r/)[0] ?? '';
  if (header.includes(',')) return ',';
  if (header.includes(';')) return ';';
  if (header.includes('\t')) return '\t';
  return ',';
}
