/**
 * Worker thread for eSpeak NG (WebAssembly): synthesis takes ~150 ms of CPU,
 * which must not stall the event loop carrying every call's audio.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

interface EspeakModule {
  FS: { readFile(path: string): Uint8Array; unlink(path: string): void };
}
type EspeakFactory = (module: Record<string, unknown>) => Promise<EspeakModule>;

/** The part of WebAssembly used here (the project's TypeScript libs leave the DOM types out). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<object>;
}
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: WasmApi };

const require = createRequire(import.meta.url);
const entry = require.resolve('espeak-ng');
const { default: createEspeak } = (await import(entry)) as { default: EspeakFactory };
const wasm = await wasmApi.compile(await readFile(new URL('espeak-ng.wasm', `file://${entry}`)));

/** One synthesis: eSpeak's command line, run in a fresh instance (it keeps no state between runs). */
export default async function synthesize(task: {
  text: string;
  voice: string;
  wordsPerMinute: number;
}): Promise<Uint8Array> {
  const espeak = await createEspeak({
    arguments: [
      '-v',
      task.voice,
      '-s',
      String(task.wordsPerMinute),
      '-w',
      '/out.wav',
      '--',
      task.text,
    ],
    print: () => undefined,
    printErr: () => undefined,
    // One compiled module for every run: only instantiation is paid per sentence.
    instantiateWasm(imports: object, receive: (instance: object, module: object) => void) {
      void wasmApi.instantiate(wasm, imports).then((instance) => receive(instance, wasm));
      return {};
    },
  });
  return espeak.FS.readFile('/out.wav');
}
