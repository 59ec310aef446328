// gRPC server reflection (grpc.reflection.v1 and v1alpha) answered from the same generated
// descriptors the router serves, so `buf curl --reflect` and grpcurl see exactly what runs.
import { create, createRegistry, type DescFile, type DescService, fromBinary, type Registry, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { ServiceImpl } from '@connectrpc/connect';
import { Code } from '@connectrpc/connect';
import * as v1 from '../../../gen/grpc/reflection/v1/reflection_pb.js';
import * as v1alpha from '../../../gen/grpc/reflection/v1alpha/reflection_pb.js';

type Request = v1.ServerReflectionRequest;
type Response = v1.ServerReflectionResponse;

/** Every file a served service needs, with its transitive imports. */
function filesOf(services: readonly DescService[]): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.set(f.name, f);
    f.dependencies.forEach(visit);
  };
  services.forEach((s) => visit(s.file));
  return [...seen.values()];
}

export class Reflection {
  private readonly registry: Registry;
  private readonly files = new Map<string, DescFile>();
  private readonly names: string[];
  /** Serialized FileDescriptorProto per file name, computed once. */
  private readonly bytes = new Map<string, Uint8Array>();

  constructor(services: readonly DescService[]) {
    const files = filesOf(services);
    this.registry = createRegistry(...files);
    for (const f of files) this.files.set(f.name, f);
    this.names = services.map((s) => s.typeName).sort();
    for (const f of files) this.bytes.set(f.name, toBinary(FileDescriptorProtoSchema, f.proto));
  }

  /** The file and every file it imports that this stream has not yet sent. */
  private fileSet(file: DescFile, sent: Set<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (sent.has(f.name)) return;
      sent.add(f.name);
      out.push(this.bytes.get(f.name)!);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return out;
  }

  /** The file that declares a symbol: a type, enum, service, method (pkg.Service.Method) or extension. */
  private fileOfSymbol(name: string): DescFile | undefined {
    const direct = this.registry.get(name);
    if (direct) return direct.file;
    const dot = name.lastIndexOf('.');
    const parent = dot > 0 ? this.registry.get(name.slice(0, dot)) : undefined;
    if (parent?.kind === 'service' && parent.methods.some((m) => m.name === name.slice(dot + 1))) return parent.file;
    return undefined;
  }

  answer(req: Request, sent: Set<string>): Response {
    const base = { validHost: req.host, originalRequest: req };
    const notFound = (what: string) =>
      create(v1.ServerReflectionResponseSchema, { ...base, messageResponse: { case: 'errorResponse', value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } } });
    const files = (f: DescFile | undefined, what: string) =>
      f ? create(v1.ServerReflectionResponseSchema, { ...base, messageResponse: { case: 'fileDescriptorResponse', value: { fileDescriptorProto: this.fileSet(f, sent) } } }) : notFound(what);
    const r = req.messageRequest;
    switch (r.case) {
      case 'listServices':
        return create(v1.ServerReflectionResponseSchema, { ...base, messageResponse: { case: 'listServicesResponse', value: { service: this.names.map((name) => ({ name })) } } });
      case 'fileByFilename':
        return files(this.files.get(r.value), `file "${r.value}"`);
      case 'fileContainingSymbol':
        return files(this.fileOfSymbol(r.value), `symbol "${r.value}"`);
      case 'fileContainingExtension': {
        const msg = this.registry.getMessage(r.value.containingType);
        const ext = msg && this.registry.getExtensionFor(msg, r.value.extensionNumber);
        return files(ext?.file, `extension ${r.value.containingType}(${r.value.extensionNumber})`);
      }
      case 'allExtensionNumbersOfType': {
        const msg = this.registry.getMessage(r.value);
        if (!msg) return notFound(`type "${r.value}"`);
        const numbers: number[] = [];
        for (const t of this.registry) if (t.kind === 'extension' && t.extendee.typeName === msg.typeName) numbers.push(t.number);
        return create(v1.ServerReflectionResponseSchema, { ...base, messageResponse: { case: 'allExtensionNumbersResponse', value: { baseTypeName: msg.typeName, extensionNumber: numbers } } });
      }
      default:
        return create(v1.ServerReflectionResponseSchema, {
          ...base,
          messageResponse: { case: 'errorResponse', value: { errorCode: Code.InvalidArgument, errorMessage: 'message_request is not set' } },
        });
    }
  }
}

/** v1 and v1alpha share field numbers, so a v1alpha message converts through the wire format losslessly. */
export function reflectionHandlers(reflection: Reflection) {
  const v1Impl: ServiceImpl<typeof v1.ServerReflection> = {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const req of requests) yield reflection.answer(req, sent);
    },
  };
  const v1alphaImpl: ServiceImpl<typeof v1alpha.ServerReflection> = {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const req of requests) {
        const res = reflection.answer(fromBinary(v1.ServerReflectionRequestSchema, toBinary(v1alpha.ServerReflectionRequestSchema, req)), sent);
        yield fromBinary(v1alpha.ServerReflectionResponseSchema, toBinary(v1.ServerReflectionResponseSchema, res));
      }
    },
  };
  return { v1: v1Impl, v1alpha: v1alphaImpl };
}
