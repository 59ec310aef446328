// REST routes read from the google.api.http annotations of the generated descriptors:
// the proto is the one source of truth for paths.
import { type DescMethod, type DescService, getOption, hasOption } from '@bufbuild/protobuf';
import { http } from '../../../gen/google/api/annotations_pb.js';
import type { HttpRule } from '../../../gen/google/api/http_pb.js';
import { raw_rest_response } from '../../../gen/latchkey/v1/common_pb.js';
import { matchPath, type PathTemplate, parsePathTemplate } from './path-template.js';

export interface RestRoute {
  httpMethod: string;
  template: PathTemplate;
  method: DescMethod;
  /** "" = no body, "*" = whole body is the request, else the field the body fills. */
  body: string;
  /** Field of the response that becomes the REST data ("" = the whole response). */
  responseBody: string;
  /** That field's JSON name (undefined = the whole response). */
  responseField?: string;
  /** Answer the bare response JSON instead of the envelope. */
  raw: boolean;
}

function bindingOf(rule: HttpRule): { httpMethod: string; path: string } | undefined {
  switch (rule.pattern.case) {
    case 'get':
    case 'put':
    case 'post':
    case 'delete':
    case 'patch':
      return { httpMethod: rule.pattern.case.toUpperCase(), path: rule.pattern.value };
    case 'custom':
      return { httpMethod: rule.pattern.value.kind.toUpperCase(), path: rule.pattern.value.path };
    default:
      return undefined;
  }
}

export class RouteTable {
  private readonly routes: RestRoute[] = [];
  private readonly byFirst = new Map<string, RestRoute[]>();
  private readonly anyFirst: RestRoute[];

  constructor(services: DescService[]) {
    for (const service of services) {
      for (const method of service.methods) {
        if (!hasOption(method, http)) continue;
        const top = getOption(method, http);
        const raw = hasOption(method, raw_rest_response) && getOption(method, raw_rest_response);
        for (const rule of [top, ...top.additionalBindings]) {
          const b = bindingOf(rule);
          if (!b) continue;
          const responseBody = rule.responseBody || top.responseBody;
          this.routes.push({
            httpMethod: b.httpMethod,
            template: parsePathTemplate(b.path),
            method,
            body: rule.body,
            responseBody,
            responseField: responseBody ? method.output.fields.find((f) => f.name === responseBody)?.jsonName : undefined,
            raw,
          });
        }
      }
    }
    // Literal segments win over variables: /api-key/list before /api-key/{key_id}.
    this.routes.sort((a, b) => b.template.specificity - a.template.specificity);
    // Index by first segment: each list keeps the order above and holds the routes whose first segment is a variable too.
    this.anyFirst = this.routes.filter((r) => r.template.leading[0] === undefined);
    for (const r of this.routes) {
      const first = r.template.leading[0];
      if (first !== undefined && !this.byFirst.has(first))
        this.byFirst.set(
          first,
          this.routes.filter((x) => x.template.leading[0] === first || x.template.leading[0] === undefined),
        );
    }
  }

  get all(): readonly RestRoute[] {
    return this.routes;
  }

  /** The route for method+path; or the methods the path allows (405); or nothing (404). */
  find(httpMethod: string, path: string): { route: RestRoute; vars: Record<string, string> } | { allow: string[] } | undefined {
    const allow = new Set<string>();
    const lookup = httpMethod === 'HEAD' ? 'GET' : httpMethod;
    // The first two segments pick the candidates by string comparison; only those run their regex.
    const a = path.indexOf('/', 1);
    const first = a < 0 ? path.slice(1) : path.slice(1, a);
    const b = a < 0 ? -1 : path.indexOf('/', a + 1);
    const second = a < 0 ? undefined : b < 0 ? path.slice(a + 1) : path.slice(a + 1, b);
    for (const route of this.byFirst.get(first) ?? this.anyFirst) {
      const lit = route.template.leading[1];
      if (lit !== undefined && lit !== second) continue;
      const vars = matchPath(route.template, path);
      if (!vars) continue;
      if (route.httpMethod === lookup) return { route, vars };
      allow.add(route.httpMethod);
    }
    return allow.size ? { allow: [...allow] } : undefined;
  }
}
