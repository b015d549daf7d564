// Peer benchmark: bpmn-engine 25 (Node.js) running bench/five-tasks.bpmn.
//
// Usage: node bpmn_engine_bench.mjs [N]   (default 2000)
//
// The packages live in bench/.peers/node (installed by run.sh), not next to this
// script, so they are loaded with a require() rooted there (their CommonJS builds;
// the engine and the serializer then share the same bpmn-elements instance).
//
// The definition is parsed once (bpmn-moddle + moddle-context-serializer, as the
// engine itself does) and the serialized context is handed to every engine as
// `sourceContext`, like a cached deployment. Each of the N instances runs
// sequentially: execute, then for every user task that waits: signal it, and after
// every step take engine.getState() and JSON.stringify it (kept in memory only, as
// a durable engine would have to write it), until the engine ends.
//
// Prints: peer=bpmn-engine instances=<N> seconds=<s> instances_per_s=<x>

import { createRequire } from 'node:module';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.PEERS_NODE_DIR || join(here, '..', '.peers', 'node');
const require = createRequire(join(nodeDir, 'package.json'));

const { Engine } = require('bpmn-engine');
const BpmnModdle = require('bpmn-moddle');
const Elements = require('bpmn-elements');
const { default: serialize, TypeResolver } = require('moddle-context-serializer');

const USER_TASKS = 5;
const n = Number.parseInt(process.argv[2] ?? '2000', 10);
const source = readFileSync(join(here, '..', 'five-tasks.bpmn'), 'utf8');

async function runOne(sourceContext) {
  const engine = new Engine({ name: 'five-tasks', sourceContext });
  const listener = new EventEmitter();
  const waiting = [];
  let ended = false;
  let failure = null;
  let wake = null;
  const poke = () => {
    const w = wake;
    wake = null;
    if (w) w();
  };

  listener.on('activity.wait', (api) => {
    if (api.content.type === 'bpmn:UserTask') {
      waiting.push(api);
      poke();
    }
  });
  engine.once('end', () => {
    ended = true;
    poke();
  });
  engine.once('error', (err) => {
    failure = err;
    poke();
  });

  await engine.execute({ listener });
  let state = JSON.stringify(await engine.getState());
  let signalled = 0;

  for (;;) {
    if (failure) throw failure;
    if (waiting.length) {
      const task = waiting.shift();
      task.signal();
      signalled++;
      state = JSON.stringify(await engine.getState());
      continue;
    }
    if (ended) break;
    await new Promise((resolve) => {
      wake = resolve;
    });
  }

  if (signalled !== USER_TASKS) {
    throw new Error(`expected ${USER_TASKS} user tasks, signalled ${signalled}`);
  }
  return state.length;
}

async function main() {
  const moddleContext = await new BpmnModdle().fromXML(source.trim());
  if (moddleContext.warnings?.length) {
    throw new Error(`bpmn-moddle warnings: ${moddleContext.warnings.map((w) => w.message).join('; ')}`);
  }
  const sourceContext = serialize(moddleContext, TypeResolver(Elements));

  let lastStateBytes = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    lastStateBytes = await runOne(sourceContext);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  console.log(
    `peer=bpmn-engine instances=${n} seconds=${seconds.toFixed(3)} instances_per_s=${(n / seconds).toFixed(1)}`,
  );
  console.error(`# bpmn-engine last state JSON ${lastStateBytes} bytes`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
