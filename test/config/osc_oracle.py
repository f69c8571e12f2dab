"""The openstack client as an oracle for idtool's connection resolver.

Run with /usr/bin/python3 (Debian's python3-openstackclient, python3-openstacksdk, python3-keystoneauth1).
Reads {"cases": [{"id", "cwd", "env", "argv"}]} as JSON on stdin and prints one JSON list on stdout: for
each case what the real client resolves, following the code path of `openstack token issue` (osc-lib's
option parser with its OS_* defaults, OSC_Config.get_one(validate=True), the checks of
ClientManager.setup_auth), up to the body of POST /v3/auth/tokens, which is captured instead of sent, and
the TLS arguments handed to requests (CloudRegion.get_requests_verify_args).

Each case gets its own environment and working directory; openstack.config.loader computes its search path
at import time, so it is reloaded per case.
"""

import importlib
import json
import os
import sys
import warnings

warnings.simplefilter('ignore')

import openstack.config.loader as loader  # noqa: E402
from keystoneauth1.identity.generic.base import BaseGenericPlugin  # noqa: E402
from openstackclient import shell as osc_shell  # noqa: E402
from osc_lib import shell as osc_lib_shell  # noqa: E402
from osc_lib.api import auth as osc_auth  # noqa: E402
from osc_lib.cli import client_config  # noqa: E402


class Captured(Exception):
    pass


class RecordingSession:
    """Stands in for the keystoneauth session: records the token request instead of sending it."""

    def __init__(self):
        self.body = None
        self.url = None

    def post(self, url, json=None, headers=None, **kwargs):
        self.url = url
        self.body = json
        raise Captured()


def resolve(case):
    os.environ.clear()
    os.environ.update(case['env'])
    os.chdir(case['cwd'])
    importlib.reload(loader)

    app = osc_shell.OpenStackShell()
    parser = app.build_option_parser('oracle', '0')
    options, _rest = parser.parse_known_args(case.get('argv', []))
    app.options = options
    app._final_defaults()
    cfg = client_config.OSC_Config(
        pw_func=osc_lib_shell.prompt_for_password,
        override_defaults={'interface': osc_lib_shell.DEFAULT_INTERFACE, 'auth_type': app._auth_type},
    )
    # initialize_app, then prepare_to_run_command for a command that needs auth
    cfg.get_one(cloud=options.cloud, argparse=options, validate=False)
    cloud = cfg.get_one(cloud=options.cloud, argparse=options, validate=True)
    auth_type = cloud.config['auth_type']
    osc_auth.check_valid_authentication_options(cloud, auth_type)
    if auth_type.endswith('password') and not cloud.auth.get('password'):
        cloud.auth['password'] = osc_lib_shell.prompt_for_password()
    verify, cert = cloud.get_requests_verify_args()

    plugin = cloud.get_auth()
    session = RecordingSession()
    if isinstance(plugin, BaseGenericPlugin):
        # what discovery leads to on a v3 Keystone
        plugin = plugin.create_plugin(session, (3, 0), plugin.auth_url)
    try:
        plugin.get_auth_ref(session)
    except Captured:
        pass
    if isinstance(cert, tuple):
        cert = list(cert)
    return {
        'ok': True,
        'cloud': cloud.name,
        'authType': auth_type,
        'authUrl': cloud.auth.get('auth_url'),
        'body': session.body,
        'verify': verify,
        'cert': cert,
        'regionName': cloud.config.get('region_name'),
        'interface': cloud.config.get('interface'),
    }


def main():
    cases = json.load(sys.stdin)['cases']
    out = []
    for case in cases:
        try:
            r = resolve(case)
        except Exception as e:  # the client refuses this configuration
            r = {'ok': False, 'error': '%s: %s' % (type(e).__name__, str(e).splitlines()[0] if str(e) else '')}
        r['id'] = case['id']
        out.append(r)
    sys.stdout.write(json.dumps(out))


if __name__ == '__main__':
    main()
