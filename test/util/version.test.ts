import t from 'tap';
import { SLUICE_VERSION } from '../../src/util/version.js';

t.match(SLUICE_VERSION, /^\d+\.\d+\.\d+/);
