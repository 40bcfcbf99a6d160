/**
 * The harness side of bench/twin.py: one long-lived Python process that
 * replies to JSON commands line by line.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

import type { ModelConfig } from '../src/model/config.js';

/** Shape of the operation timings, shared with twin.py's 'ops' command. */
export interface OpShape {
  batch: number;
  size: number;
  channels: number;
  k: number;
  imageChannels: number;
}

/** Median milliseconds per operation, as twin.py's 'ops' command returns them. */
export interface TwinOps {
  convForward: number;
  convInputGradient: number;
  convFilterGradient: number;
  ddlHead: number;
}

interface Reply {
  ok: boolean;
  error?: string;
  torch: string;
  threads: number;
  [key: string]: unknown;
}

export class TorchTwin {
  version = '';
  /** torch.get_num_threads() before any command set it. */
  defaultThreads = 0;
  private readonly waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  private stderr = '';

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: Interface,
  ) {
    lines.on('line', (line) => this.waiting.shift()?.resolve(line));
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    child.on('exit', (code) => {
      const error = new Error(`twin.py exited with code ${code}: ${this.stderr}`);
      for (const waiting of this.waiting.splice(0)) waiting.reject(error);
    });
  }

  /** Starts `python script`; Debian's /usr/bin/python3 is the one with python3-torch. */
  static async start(python: string, script: string): Promise<TorchTwin> {
    const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const twin = new TorchTwin(child, createInterface({ input: child.stdout }));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new Error(`could not start ${python} ${script}: ${error.message}`)));
    });
    return twin;
  }

  async build(name: string, config: ModelConfig, expectedParams: number, learningRate: number): Promise<void> {
    await this.send({ cmd: 'build', name, config, expectedParams, learningRate });
  }

  /** Milliseconds of each timed training step. */
  async train(name: string, threads: number, batch: number, warmup: number, steps: number): Promise<number[]> {
    return (await this.send({ cmd: 'train', name, threads, batch, warmup, steps })).ms as number[];
  }

  /** Milliseconds of each timed sampling batch. */
  async sample(name: string, threads: number, batch: number, warmup: number, steps: number): Promise<number[]> {
    return (await this.send({ cmd: 'sample', name, threads, batch, warmup, steps })).ms as number[];
  }

  async ops(threads: number, shape: OpShape, warmup: number, steps: number): Promise<TwinOps> {
    const reply = await this.send({ cmd: 'ops', threads, shape, warmup, steps });
    return {
      convForward: reply.convForward as number,
      convInputGradient: reply.convInputGradient as number,
      convFilterGradient: reply.convFilterGradient as number,
      ddlHead: reply.ddlHead as number,
    };
  }

  close(): void {
    this.child.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n');
    this.lines.close();
  }

  private async send(command: Record<string, unknown>): Promise<Reply> {
    const line = await new Promise<string>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify(command) + '\n');
    });
    const reply = JSON.parse(line) as Reply;
    if (!reply.ok) throw new Error(`twin.py '${command.cmd}' failed: ${reply.error}`);
    this.version = reply.torch;
    if (this.defaultThreads === 0) this.defaultThreads = reply.threads;
    return reply;
  }
}
