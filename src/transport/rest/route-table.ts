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

  constructor(services: DescService[]) {
    for (const service of services) {
      for (const method of service.methods) {
        if (!hasOption(method, http)) continue;
        const top = getOption(method, http);
        const raw = hasOption(method, raw_rest_response) && getOption(method, raw_rest_response);
        for (const rule of [top, ...top.additionalBindings]) {
          const b = bindingOf(rule);
          if (!b) continue;
          this.routes.push({
            httpMethod: b.httpMethod,
            template: parsePathTemplate(b.path),
            method,
            body: rule.body,
            responseBody: rule.responseBody || top.responseBody,
            raw,
          });
        }
      }
    }
    // Literal segments win over variables: /api-key/list before /api-key/{key_id}.
    this.routes.sort((a, b) => b.template.specificity - a.template.specificity);
  }

  get all(): readonly RestRoute[] {
    return this.routes;
  }

  /** The route for method+path; or the methods the path allows (405); or nothing (404). */
  find(httpMethod: string, path: string): { route: RestRoute; vars: Record<string, string> } | { allow: string[] } | undefined {
    const allow = new Set<string>();
    const lookup = httpMethod === 'HEAD' ? 'GET' : httpMethod;
    for (const route of this.routes) {
      const vars = matchPath(route.template, path);
      if (!vars) continue;
      if (route.httpMethod === lookup) return { route, vars };
      allow.add(route.httpMethod);
    }
    return allow.size ? { allow: [...allow] } : undefined;
  }
}
