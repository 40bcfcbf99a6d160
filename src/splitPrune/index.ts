export { SplitPrune } from './splitPrune.js';
export type {
  SplitEvent,
  SplitPruneOptions,
  SplitPruneState,
  SplitRule,
} from './splitPrune.js';
