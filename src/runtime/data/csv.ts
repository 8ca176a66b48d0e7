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
    if (!(fields.length === 1 && fields[0] === '' && !wasQuoted)) records.push({ fields, line: startLine });
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
  if (quoted) throw new DataError(`Row ${records.length + 1} (line ${startLine}): a quoted field is never closed (a " is missing).`);
  if (field !== '' || fields.length || wasQuoted) endRecord();
  return records;
}

const ordinal = (n: number) => `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;
const quote = (s: string) => `"${s.length > 40 ? `${s.slice(0, 40)}…` : s}"`;

/** The header's column names, for the label picker. */
export function csvColumns(text: string): string[] {
  const first = parseCsvRecords(text.slice(0, 64 * 1024).split(/\r\n|\n|\r/)[0] ?? '');
  return first[0]?.fields.map((f) => f.trim()) ?? [];
}

export function parseCsv(text: string, options: CsvOptions = {}): Dataset {
  const name = options.name ?? 'the CSV file';
  const delimiter = sniffDelimiter(text);
  const records = parseCsvRecords(text, delimiter, options.onProgress);
  if (records.length === 0) throw new DataError(`${name} is empty: it needs a header row and at least two rows of data.`);
  const header = records[0]!.fields.map((f) => f.trim());
  const rows = records.slice(1);
  if (rows.length === 0) throw new DataError(`${name} has a header row but no data rows.`);
  if (header.length < 2) throw new DataError(`${name} has ${header.length} column; it needs at least one feature column and a label column (separated by commas).`);
  header.forEach((h, c) => {
    if (!h) throw new DataError(`Row 1 (the header), column ${c + 1}: the column has no name.`);
  });
  const labelColumn = options.label === undefined ? header.length - 1 : header.indexOf(options.label.trim());
  if (labelColumn < 0) {
    throw new DataError(`There is no label column "${options.label}" in ${name}; its columns are ${header.map((h) => `"${h}"`).join(', ')}.`);
  }
  const labelName = header[labelColumn]!;
  const features = header.length - 1;
  const x = new Float32Array(rows.length * features);
  const rawLabels: string[] = [];
  rows.forEach((record, r) => {
    const rowNumber = r + 2;
    const where = `Row ${rowNumber}${record.line !== rowNumber ? ` (line ${record.line})` : ''}`;
    if (record.fields.length !== header.length) {
      throw new DataError(`${where} has ${record.fields.length} value${record.fields.length === 1 ? '' : 's'}, but the header has ${header.length} columns. Every row needs one value per column.`);
    }
    let k = 0;
    record.fields.forEach((raw, c) => {
      const value = raw.trim();
      if (c === labelColumn) {
        if (!value) throw new DataError(`${where}, column "${labelName}" (the label): the label is empty.`);
        rawLabels.push(value);
        return;
      }
      const n = value === '' ? NaN : Number(value);
      if (!Number.isFinite(n)) {
        const what = value === '' ? 'is empty' : `holds ${quote(value)}, which is not a number`;
        throw new DataError(`${where}, column "${header[c]}" (the ${ordinal(c + 1)}): the cell ${what}. Every column except the label ("${labelName}") must hold numbers.`);
      }
      x[r * features + k++] = n;
    });
  });
  const distinct = [...new Set(rawLabels)];
  const numeric = distinct.every((l) => /^[+-]?\d+$/.test(l));
  const classNames = numeric ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
  if (classNames.length < 2) {
    throw new DataError(`The label column "${labelName}" holds only one class (${quote(classNames[0]!)}); a classifier needs at least two. Is "${labelName}" the right label column?`);
  }
  if (classNames.length > MAX_CLASSES) {
    throw new DataError(`The label column "${labelName}" holds ${classNames.length} different values; Patchbay trains on at most ${MAX_CLASSES} classes. Is "${labelName}" the right label column?`);
  }
  const index = new Map(classNames.map((c, i) => [c, i]));
  const y = Uint8Array.from(rawLabels, (l) => index.get(l)!);
  return datasetFromExamples({ name, inputShape: [features], classNames, x, y, seed: options.seed ?? 7 });
}

/** Commas, unless the header has none and has semicolons or tabs. */
function sniffDelimiter(text: string): string {
  const header = text.slice(0, 4096).split(/\r\n|\n|\r/)[0] ?? '';
  if (header.includes(',')) return ',';
  if (header.includes(';')) return ';';
  if (header.includes('\t')) return '\t';
  return ',';
}
