// The standalone file source: Kubernetes objects from a YAML/JSON file or directory.
export { loadConfig, loadFromInput, type LoadOptions, type LoadResult } from './load.js';
export { ConfigWatcher, watchConfig, type WatchOptions } from './watch.js';
export { readInput, type InputFiles } from './read.js';
export { YamlSyntaxError } from './parse.js';
export { parseDuration } from './rules.js';
