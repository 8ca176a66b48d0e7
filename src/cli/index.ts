import { terminalSafe } from '../document/text';
import { run } from './main';

const tty = process.stderr.isTTY === true;

process.exitCode = await run(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${terminalSafe(text)}\n`),
  err: (text) => process.stderr.write(`${terminalSafe(text)}\n`),
  status: (text) => {
    if (tty) process.stderr.write(`\r\x1b[2K${terminalSafe(text)}`);
  },
});
