#!/usr/bin/env python3
"""Writes sync-server/openapi.json: component schemas parsed from shared/src/api.rs, the
paths from the table below (hand-kept; the `openapi` test compares it with the router)."""
import json, re, sys, os
root = sys.argv[1] if len(sys.argv) > 1 else '/work/main'
api = open(os.path.join(root, 'shared/src/api.rs')).read()

def rust_type(t):
    t = t.strip()
    m = re.fullmatch(r'Option<(.+)>', t)
    if m:
        s = rust_type(m.group(1)); s = dict(s); s['nullable'] = True; return s
    m = re.fullmatch(r'Vec<(.+)>', t)
    if m:
        return {'type': 'array', 'items': rust_type(m.group(1))}
    if t in ('String', 'UnitId', 'UserId', 'DeviceId', 'CaseId'):
        s = {'type': 'string'}
        if t in ('UserId', 'DeviceId', 'CaseId'): s['format'] = 'uuid'
        return s
    if t in ('u32', 'u64', 'i64', 'i32', 'u16', 'usize'):
        return {'type': 'integer', 'format': 'int64' if '64' in t else 'int32'}
    if t == 'bool': return {'type': 'boolean'}
    if t == 'serde_json::Value': return {'type': 'object', 'additionalProperties': True}
    if t == 'Role': return {'$ref': '#/components/schemas/Role'}
    if re.fullmatch(r'[A-Z]\w*', t): return {'$ref': '#/components/schemas/' + t}
    return {}

schemas = {}
for m in re.finditer(r'pub struct (\w+) \{(.*?)\n\}', api, re.S):
    name, body = m.group(1), m.group(2)
    props = {}
    for f in re.finditer(r'^\s*pub (\w+): ([^\n]+),\s*$', body, re.M):
        props[f.group(1)] = rust_type(f.group(2))
    schemas[name] = {'type': 'object', 'properties': props}
schemas['Role'] = {'type': 'string', 'enum': ['verifier', 'supervisor', 'bureau', 'admin']}
schemas['Health'] = {'type': 'object', 'properties': {
    'status': {'type': 'string', 'enum': ['ok', 'unavailable']},
    'db': {'type': 'string', 'enum': ['ok', 'error']}}}
schemas['Standards'] = {'type': 'object', 'properties': {
    'dibao': {'type': 'array', 'items': {'type': 'object', 'properties': {
        'year': {'type': 'integer'}, 'area': {'type': 'string', 'enum': ['urban', 'rural']},
        'monthly_fen': {'type': 'integer', 'format': 'int64', 'description': 'per person per month, fen'}}}},
    'asset_rules': {'type': 'object', 'properties': {
        'max_deposits_per_capita_fen': {'type': 'integer', 'nullable': True},
        'max_houses': {'type': 'integer', 'nullable': True},
        'max_vehicles': {'type': 'integer', 'nullable': True}}}}}
schemas['BlobStatus'] = {'type': 'object', 'properties': {
    'sha256': {'type': 'string'}, 'size': {'type': 'integer'}, 'received': {'type': 'integer'},
    'complete': {'type': 'boolean'}}}

def ref(name): return {'$ref': '#/components/schemas/' + name}
def json_resp(name, desc='OK'): return {'description': desc, 'content': {'application/json': {'schema': ref(name)}}}
ERR = {'description': 'Error (see `error` for the stable code)', 'content': {'application/json': {'schema': ref('ErrorBody')}}}
BEARER = [{'bearer': []}]
ID = {'name': 'id', 'in': 'path', 'required': True, 'schema': {'type': 'string', 'format': 'uuid'}, 'description': 'case id'}
SHA = {'name': 'sha256', 'in': 'path', 'required': True, 'schema': {'type': 'string', 'pattern': '^[0-9a-f]{64}$'}}
USER = {'name': 'user', 'in': 'path', 'required': True, 'schema': {'type': 'string'}, 'description': 'username'}
WHY = {'name': 'why', 'in': 'query', 'schema': {'type': 'string', 'maxLength': 200}, 'description': 'reason recorded in the audit log'}
def q(name, typ='string', desc=None):
    p = {'name': name, 'in': 'query', 'schema': {'type': typ}}
    if desc: p['description'] = desc
    return p
CASE_FILTERS = [q(n) for n in ('name', 'id_suffix', 'unit', 'status', 'origin', 'assistance', 'hardship',
                                 'verifier', 'created_from', 'created_to', 'updated_from', 'updated_to',
                                 'visit_from', 'visit_to')] + \
               [q(n, 'boolean') for n in ('urgent', 'open_conflicts', 'changed_after_signing')] + \
               [q(n, 'integer') for n in ('updated_since_ms', 'limit', 'offset')] + \
               [q('sort', 'string', 'updated|created|name|per_capita|visit'), q('order', 'string', 'asc|desc')]
def body(name, ctype='application/json'):
    return {'required': True, 'content': {ctype: {'schema': ref(name) if name else {'type': 'string', 'format': 'binary'}}}}
def file_resp(ctype, desc): return {'description': desc, 'content': {ctype: {'schema': {'type': 'string', 'format': 'binary'}}}}
XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

def op(summary, responses, tag, security=BEARER, params=None, request=None, desc=None):
    o = {'summary': summary, 'tags': [tag], 'responses': dict(responses)}
    o['responses'].setdefault('4XX', ERR)
    if security is not None: o['security'] = security
    if params: o['parameters'] = params
    if request: o['requestBody'] = request
    if desc: o['description'] = desc
    return o

paths = {
 '/api/v1/health': {'get': op('Liveness and database reachability', {'200': json_resp('Health'), '503': json_resp('Health', 'database unreachable')}, 'operations', security=[])},
 '/api/v1/openapi.json': {'get': op('This description', {'200': {'description': 'OpenAPI 3 JSON', 'content': {'application/json': {}}}}, 'operations', security=[])},
 '/metrics': {'get': op('Prometheus metrics (text format 0.0.4)', {'200': {'description': 'metrics', 'content': {'text/plain': {'schema': {'type': 'string'}}}}, '404': ERR}, 'operations', security=[{'metricsToken': []}],
     desc='Off (404) unless the server is configured with metrics_token; then requires `Authorization: Bearer <metrics_token>`.')},
 '/api/v1/standards': {'get': op("The bureau's 低保 standards and asset rules (from the server config)", {'200': json_resp('Standards')}, 'operations')},
 '/api/v1/login': {'post': op('Log in and enrol this device (returns its bearer token)', {'200': json_resp('LoginResponse')}, 'accounts', security=[], request=body('LoginRequest'))},
 '/api/v1/me': {'get': op('The caller', {'200': json_resp('UserInfo')}, 'accounts')},
 '/api/v1/enrol-codes': {'post': op('Create a one-time enrolment code (with QR) for a user', {'200': json_resp('EnrolCode')}, 'accounts', request=body('EnrolCodeRequest'))},
 '/api/v1/enrol': {'post': op('Enrol a device with a one-time code', {'200': json_resp('LoginResponse')}, 'accounts', security=[], request=body('EnrolRedeemRequest'))},
 '/api/v1/sync': {'post': op('Stateless Automerge sync of case documents (postcard)', {'200': file_resp('application/x-hecha-sync', 'SyncResponse (postcard)'), '413': ERR, '415': ERR}, 'sync',
     request=body(None, 'application/x-hecha-sync'), desc='Body: shared::sync::SyncRequest encoded with postcard; content type shared::sync::CONTENT_TYPE.')},
 '/api/v1/cases': {'get': op("The case ledger (台账) in the caller's scope", {'200': json_resp('CaseList')}, 'cases', params=CASE_FILTERS)},
 '/api/v1/cases/{id}/history': {'get': op("Every change of a case, attributed (audited)", {'200': json_resp('CaseHistory')}, 'cases', params=[ID, WHY])},
 '/api/v1/cases/{id}/document': {'get': op('A case document as JSON, unmasked (audited)', {'200': json_resp('CaseDocument')}, 'cases', params=[ID, WHY])},
 '/api/v1/cases/{id}/document.automerge': {'get': op('A case document as Automerge bytes (audited)', {'200': file_resp('application/octet-stream', 'Automerge document')}, 'cases', params=[ID, WHY])},
 '/api/v1/cases/{id}/assign': {'post': op('Assign a case to a verifier', {'200': json_resp('AssignmentList')}, 'cases', params=[ID], request=body('AssignRequest'))},
 '/api/v1/cases/{id}/assign/{user}': {'delete': op('Remove an assignment', {'200': json_resp('AssignmentList')}, 'cases', params=[ID, USER])},
 '/api/v1/cases/{id}/assignments': {'get': op("A case's assignments", {'200': json_resp('AssignmentList')}, 'cases', params=[ID])},
 '/api/v1/cases/{id}/lifecycle-flags': {'get': op("A case's lifecycle records the server's re-check flagged (kept, never dropped)", {'200': {'description': 'OK: [{case_id, record_id, transition, reason, message, user_id, device_id, record_at_ms, flagged_at_ms}]', 'content': {'application/json': {'schema': {'type': 'array', 'items': {'type': 'object'}}}}}}, 'cases', params=[ID])},
 '/api/v1/spot-checks': {'post': op('Draw spot checks from a recorded seed (bureau staff); drawn cases are assigned to the bureau verifiers', {'200': {'description': 'the stored draw: {draw_id, period_from, period_to, share_permille, seed, population, drawn: [{case_id, assigned_to}], drawn_by, drawn_at_ms}', 'content': {'application/json': {'schema': {'type': 'object'}}}}}, 'spot-checks', request={'required': True, 'content': {'application/json': {'schema': {'type': 'object', 'required': ['period_from', 'period_to', 'share_percent'], 'properties': {'period_from': {'type': 'string', 'format': 'date'}, 'period_to': {'type': 'string', 'format': 'date'}, 'share_percent': {'type': 'integer'}, 'seed': {'type': 'string', 'description': 'decimal u64; absent: drawn by the server and recorded'}}}}}}),
                         'get': op('Every spot-check draw, newest first (bureau staff)', {'200': {'description': 'OK', 'content': {'application/json': {'schema': {'type': 'array', 'items': {'type': 'object'}}}}}}, 'spot-checks')},
 '/api/v1/stats/lifecycle-flags': {'get': op("Flagged lifecycle records of the caller's scope, newest first", {'200': {'description': 'OK: [{unit, applicant_name, case_id, record_id, transition, reason, message, user_id, device_id, record_at_ms, flagged_at_ms}]', 'content': {'application/json': {'schema': {'type': 'array', 'items': {'type': 'object'}}}}}}, 'stats')},
 '/api/v1/spot-checks/{id}': {'get': op('One draw, re-run from its seed (rerun_matches)', {'200': {'description': 'OK', 'content': {'application/json': {'schema': {'type': 'object'}}}}}, 'spot-checks', params=[{'name': 'id', 'in': 'path', 'required': True, 'schema': {'type': 'integer'}, 'description': 'draw id'}])},
 '/api/v1/cases/{id}/transfer': {'post': op('Move a case to another unit', {'200': json_resp('TransferResponse')}, 'cases', params=[ID], request=body('TransferRequest'))},
 '/api/v1/audit': {'get': op('The audit log (bureau only)', {'200': json_resp('AuditList')}, 'audit', params=[q('since_ms', 'integer'), q('user'), q('limit', 'integer')])},
 '/api/v1/export/cases.csv': {'get': op('Ledger export, CSV (audited)', {'200': file_resp('text/csv', 'UTF-8 CSV with BOM')}, 'exports', params=CASE_FILTERS + [WHY])},
 '/api/v1/export/cases.xlsx': {'get': op('Ledger export, Excel (audited)', {'200': file_resp(XLSX, 'workbook')}, 'exports', params=CASE_FILTERS + [WHY])},
 '/api/v1/export/stats/assistance.csv': {'get': op('Assistance statistics, CSV', {'200': file_resp('text/csv', 'CSV')}, 'exports')},
 '/api/v1/export/stats/assistance.xlsx': {'get': op('Assistance statistics, Excel', {'200': file_resp(XLSX, 'workbook')}, 'exports')},
 '/api/v1/export/stats/visits.csv': {'get': op('Visits per verifier and month, CSV', {'200': file_resp('text/csv', 'CSV')}, 'exports')},
 '/api/v1/export/stats/visits.xlsx': {'get': op('Visits per verifier and month, Excel', {'200': file_resp(XLSX, 'workbook')}, 'exports')},
 '/api/v1/stats': {'get': op('Case counts by unit × status', {'200': json_resp('CaseStats')}, 'stats')},
 '/api/v1/stats/assistance': {'get': op('Households and persons by assistance type', {'200': json_resp('AssistanceStats')}, 'stats')},
 '/api/v1/stats/visits': {'get': op('Visits per verifier and month', {'200': json_resp('VisitStats')}, 'stats')},
 '/api/v1/stats/conflicts': {'get': op('Cases with open conflicts', {'200': json_resp('CaseList')}, 'stats')},
 '/api/v1/stats/changed-after-signing': {'get': op('Cases changed after signing', {'200': json_resp('CaseList')}, 'stats')},
 '/api/v1/blobs/{sha256}': {
     'get': op('A complete blob (photo) in the scope of a case naming it', {'200': file_resp('application/octet-stream', 'blob bytes')}, 'blobs', params=[SHA]),
     'put': op('Upload one chunk (Content-Range: bytes START-END/TOTAL)', {'200': json_resp('BlobStatus'), '409': ERR}, 'blobs', params=[SHA, {'name': 'Content-Range', 'in': 'header', 'required': True, 'schema': {'type': 'string'}}], request=body(None, 'application/octet-stream'))},
 '/api/v1/blobs/{sha256}/status': {'get': op('How much of a blob the server holds', {'200': json_resp('BlobStatus')}, 'blobs', params=[SHA])},
}
extra = json.loads(open(sys.argv[2]).read()) if len(sys.argv) > 2 else {}
paths.update(extra)
spec = {
 'openapi': '3.0.3',
 'info': {'title': 'Hecha 核查 sync server', 'version': '1',
          'description': 'District server of the Hecha offline-first household verification system. Errors are ErrorBody JSON with a stable `error` code. Generated by sync-server/tools/gen_openapi.py; checked against the router by tests/server/openapi.rs.'},
 'servers': [{'url': '/'}],
 'paths': dict(sorted(paths.items())),
 'components': {'schemas': dict(sorted(schemas.items())),
   'securitySchemes': {'bearer': {'type': 'http', 'scheme': 'bearer', 'description': 'device token from /api/v1/login or /api/v1/enrol'},
                       'metricsToken': {'type': 'http', 'scheme': 'bearer', 'description': 'the configured metrics_token'}}},
}
out = os.path.join(root, 'sync-server/openapi.json')
open(out, 'w').write(json.dumps(spec, ensure_ascii=False, indent=1) + '\n')
print('wrote', out, len(paths), 'paths')
