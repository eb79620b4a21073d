/** Child-process entry of the load generator (see `startLoad` in load.ts). */
import { type LoadSpec, runLoad } from './load.ts';

let stopping = false;

process.on('message', (message: { type: 'run'; spec: LoadSpec } | { type: 'stop' }) => {
  if (message.type === 'stop') {
    stopping = true;
    return;
  }
  runLoad(message.spec, () => stopping).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (err: unknown) => {
      console.error('load generator failed:', err);
      process.exit(1);
    },
  );
});
