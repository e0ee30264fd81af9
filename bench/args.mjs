// The benchmark scripts' command line: `--name value` options after the script's name.
export const args = process.argv.slice(2);

/** The value after `--name`, or `fallback` when the option is not given. */
export function option(name, fallback) {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
}
