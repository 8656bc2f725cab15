from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'default.html.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_n = resolve('n')
    l_0_colour = resolve('colour')
    l_0_status_line = resolve('status_line')
    l_0_muted = l_0_wrap = l_0_link_list = l_0_table = l_0_label_text = l_0_since = l_0_alerts = l_0_several = l_0_common = missing
    try:
        t_1 = environment.filters['alert_colour']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'alert_colour' found.")
    try:
        t_2 = environment.filters['dictsort']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'dictsort' found.")
    try:
        t_3 = environment.filters['duration']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'duration' found.")
    try:
        t_4 = environment.filters['header_title']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'header_title' found.")
    try:
        t_5 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_6 = environment.filters['linkified']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'linkified' found.")
    try:
        t_7 = environment.filters['readable']
    except KeyError:
        @internalcode
        def t_7(*unused):
            raise TemplateRuntimeError("No filter named 'readable' found.")
    try:
        t_8 = environment.filters['safe_url']
    except KeyError:
        @internalcode
        def t_8(*unused):
            raise TemplateRuntimeError("No filter named 'safe_url' found.")
    try:
        t_9 = environment.filters['upper']
    except KeyError:
        @internalcode
        def t_9(*unused):
            raise TemplateRuntimeError("No filter named 'upper' found.")
    try:
        t_10 = environment.filters['when_short']
    except KeyError:
        @internalcode
        def t_10(*unused):
            raise TemplateRuntimeError("No filter named 'when_short' found.")
    pass
    l_0_muted = 'color:#59636e;'
    context.vars['muted'] = l_0_muted
    context.exported_vars.add('muted')
    l_0_wrap = 'word-break:break-word;overflow-wrap:anywhere;'
    context.vars['wrap'] = l_0_wrap
    context.exported_vars.add('wrap')
    def macro(l_1_links, l_1_size):
        t_11 = []
        if l_1_links is missing:
            l_1_links = undefined("parameter 'links' was not provided", name='links')
        if l_1_size is missing:
            l_1_size = '14px'
        pass
        def t_12(fiter):
            for l_2_link in fiter:
                if t_8(environment.getattr(l_2_link, 'url')):
                    yield l_2_link
        l_2_loop = missing
        for l_2_link, l_2_loop in LoopContext(t_12(l_1_links), undefined):
            _loop_vars = {}
            pass
            if (not environment.getattr(l_2_loop, 'first')):
                pass
                t_11.extend((
                    '<span class="mh-muted" style="color:#8c959f;font-size:',
                    escape(l_1_size),
                    ';"> &middot; </span>',
                ))
            t_11.extend((
                '<a href="',
                escape(t_8(environment.getattr(l_2_link, 'url'))),
                '" class="mh-link" style="color:#0969da;text-decoration:underline;font-size:',
                escape(l_1_size),
                ';line-height:1.9;">',
                escape(environment.getattr(l_2_link, 'title')),
                '</a>',
            ))
        l_2_loop = l_2_link = missing
        return concat(t_11)
    context.exported_vars.add('link_list')
    context.vars['link_list'] = l_0_link_list = Macro(environment, macro, 'link_list', ('links', 'size'), False, False, False, context.eval_ctx.autoescape)
    def macro(l_1_rows, l_1_heading):
        t_13 = []
        if l_1_rows is missing:
            l_1_rows = undefined("parameter 'rows' was not provided", name='rows')
        if l_1_heading is missing:
            l_1_heading = None
        pass
        if l_1_heading:
            pass
            t_13.extend((
                '<p class="mh-muted" style="margin:12px 0 4px;',
                escape((undefined(name='muted') if l_0_muted is missing else l_0_muted)),
                'font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;">',
                escape(l_1_heading),
                '</p>',
            ))
        t_13.append(
            '<table role="presentation" class="mh-kv" width="100%" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:collapse;table-layout:fixed;margin:0 0 12px;font-size:14px;line-height:1.35;">',
        )
        for (l_2_key, l_2_value) in l_1_rows:
            _loop_vars = {}
            pass
            t_13.extend((
                '<tr><td width="34%" class="mh-muted mh-rule" style="width:34%;padding:3px 8px 3px 0;',
                escape((undefined(name='muted') if l_0_muted is missing else l_0_muted)),
                'vertical-align:top;border-top:1px solid #eaeef2;',
                escape((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap)),
                '">',
                escape(l_2_key),
                '</td><td class="mh-rule" style="padding:3px 0;vertical-align:top;border-top:1px solid #eaeef2;white-space:pre-wrap;',
                escape((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap)),
                '"',
            ))
            if (t_7(l_2_value) != l_2_value):
                pass
                t_13.extend((
                    ' title="',
                    escape(l_2_value),
                    '"',
                ))
            t_13.extend((
                '>',
                escape(t_7(l_2_value)),
                '</td></tr>',
            ))
        l_2_key = l_2_value = missing
        t_13.append(
            '</table>',
        )
        return concat(t_13)
    context.exported_vars.add('table')
    context.vars['table'] = l_0_table = Macro(environment, macro, 'table', ('rows', 'heading'), False, False, False, context.eval_ctx.autoescape)
    def macro(l_1_labels, l_1_omitted):
        t_14 = []
        if l_1_labels is missing:
            l_1_labels = undefined("parameter 'labels' was not provided", name='labels')
        if l_1_omitted is missing:
            l_1_omitted = ''
        pass
        def t_15(fiter):
            for (l_2_key, l_2_value) in fiter:
                if (l_2_key != l_1_omitted):
                    yield (l_2_key, l_2_value)
        l_2_loop = missing
        for (l_2_key, l_2_value), l_2_loop in LoopContext(t_15(t_2(l_1_labels)), undefined):
            _loop_vars = {}
            pass
            if (t_5(markup_join((l_2_key, l_2_value, ))) <= 36):
                pass
                t_14.extend((
                    '<span style="white-space:nowrap;">',
                    escape(l_2_key),
                    '=',
                    escape(l_2_value),
                    '</span>',
                ))
            else:
                pass
                t_14.extend((
                    escape(l_2_key),
                    '=',
                    escape(l_2_value),
                ))
            if (not environment.getattr(l_2_loop, 'last')):
                pass
                t_14.append(
                    ' · ',
                )
        l_2_loop = l_2_key = l_2_value = missing
        return concat(t_14)
    context.exported_vars.add('label_text')
    context.vars['label_text'] = l_0_label_text = Macro(environment, macro, 'label_text', ('labels', 'omitted'), False, False, False, context.eval_ctx.autoescape)
    def macro(l_1_alert):
        t_16 = []
        l_1_Status = resolve('Status')
        if l_1_alert is missing:
            l_1_alert = undefined("parameter 'alert' was not provided", name='alert')
        pass
        if ((environment.getattr(l_1_alert, 'status') == environment.getattr((undefined(name='Status') if l_1_Status is missing else l_1_Status), 'RESOLVED')) and environment.getattr(l_1_alert, 'ends_at')):
            pass
            t_16.extend((
                'resolved ',
                escape(t_10(environment.getattr(l_1_alert, 'ends_at'))),
            ))
            if environment.getattr(l_1_alert, 'starts_at'):
                pass
                t_16.extend((
                    ', lasted ',
                    escape(t_3(environment.getattr(l_1_alert, 'starts_at'), environment.getattr(l_1_alert, 'ends_at'))),
                ))
        elif environment.getattr(l_1_alert, 'starts_at'):
            pass
            t_16.extend((
                'since ',
                escape(t_10(environment.getattr(l_1_alert, 'starts_at'))),
            ))
            if (environment.getattr(l_1_alert, 'status') == environment.getattr((undefined(name='Status') if l_1_Status is missing else l_1_Status), 'FIRING')):
                pass
                t_16.extend((
                    ' (',
                    escape(t_3(environment.getattr(l_1_alert, 'starts_at'))),
                    ' ago)',
                ))
        return concat(t_16)
    context.exported_vars.add('since')
    context.vars['since'] = l_0_since = Macro(environment, macro, 'since', ('alert',), False, False, False, context.eval_ctx.autoescape)
    l_0_alerts = environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'alerts_in_order')
    context.vars['alerts'] = l_0_alerts
    context.exported_vars.add('alerts')
    l_0_several = (t_5((undefined(name='alerts') if l_0_alerts is missing else l_0_alerts)) > 1)
    context.vars['several'] = l_0_several
    context.exported_vars.add('several')
    l_0_common = []
    context.vars['common'] = l_0_common
    context.exported_vars.add('common')
    def t_17(fiter):
        for (l_1_key, l_1_value) in fiter:
            if ((l_1_key, l_1_value) not in environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'facts')):
                yield (l_1_key, l_1_value)
    for (l_1_key, l_1_value) in t_17(t_2(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'common_labels'))):
        l_1__ = missing
        _loop_vars = {}
        pass
        l_1__ = context.call(environment.getattr((undefined(name='common') if l_0_common is missing else l_0_common), 'append'), (l_1_key, l_1_value), _loop_vars=_loop_vars)
        _loop_vars['_'] = l_1__
    l_1_key = l_1_value = l_1__ = missing
    yield '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="color-scheme" content="light dark">\n<meta name="supported-color-schemes" content="light dark">\n<title>'
    yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'title'))
    yield '</title>\n<style>\n@media (prefers-color-scheme: dark) {\n  .mh-page { background:#0d1117 !important; }\n  .mh-card { background:#161b22 !important; color:#e6edf3 !important; border-color:#30363d !important; }\n  .mh-muted { color:#9198a1 !important; }\n  .mh-link { color:#4493f8 !important; }\n  .mh-rule { border-color:#30363d !important; }\n  .mh-note { background:#3b2e00 !important; color:#f2cc60 !important; }\n}\n/* Outlook.com and the Outlook apps mark the elements they recolour in dark mode with data-ogsc/data-ogsb. */\n[data-ogsb] .mh-card { background:#161b22 !important; }\n[data-ogsc] .mh-card { color:#e6edf3 !important; }\n[data-ogsc] .mh-muted { color:#9198a1 !important; }\n[data-ogsc] .mh-link { color:#4493f8 !important; }\n</style>\n</head>\n<body class="mh-page" style="margin:0;padding:0;background:#f6f8fa;">\n<table role="presentation" class="mh-page" width="100%" cellpadding="0" cellspacing="0" style="width:100%;background:#f6f8fa;"><tr><td align="center" style="padding:12px 6px;">\n<!--[if mso]><table role="presentation" width="640" align="center" cellpadding="0" cellspacing="0"><tr><td><![endif]-->\n<table role="presentation" class="mh-card" width="100%" cellpadding="0" cellspacing="0" style="width:100%;max-width:640px;background:#ffffff;border:1px solid #d0d7de;border-radius:6px;border-collapse:separate;font-family:-apple-system,\'Segoe UI\',Helvetica,Arial,sans-serif;font-size:15px;line-height:1.45;color:#1f2328;text-align:left;">\n<tr><td bgcolor="'
    yield escape((undefined(name='colour') if l_0_colour is missing else l_0_colour))
    yield '" style="background:'
    yield escape((undefined(name='colour') if l_0_colour is missing else l_0_colour))
    yield ';color:#ffffff;padding:10px 14px 12px;border-radius:6px 6px 0 0;'
    yield escape((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap))
    yield '">\n<p style="margin:0 0 2px;font-size:12px;font-weight:700;letter-spacing:.05em;color:#ffffff;">'
    yield escape((undefined(name='status_line') if l_0_status_line is missing else l_0_status_line))
    yield '</p>\n<p style="margin:0;font-size:18px;font-weight:600;line-height:1.3;color:#ffffff;">'
    yield escape(t_4(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'title')))
    yield '</p>\n</td></tr>\n<tr><td style="padding:14px;'
    yield escape((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap))
    yield '">'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'summary'):
        pass
        yield '<p style="margin:0 0 10px;font-weight:600;white-space:pre-wrap;">'
        yield escape(t_6(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'summary')))
        yield '</p>'
    if (undefined(name='alerts') if l_0_alerts is missing else l_0_alerts):
        pass
        yield '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:collapse;margin:0 0 12px;">'
        for l_1_alert in (undefined(name='alerts') if l_0_alerts is missing else l_0_alerts):
            l_1_Severity = resolve('Severity')
            l_1_Status = resolve('Status')
            l_1_alert_colour = l_1_distinct = l_1_omitted = missing
            _loop_vars = {}
            pass
            l_1_alert_colour = t_1(l_1_alert)
            _loop_vars['alert_colour'] = l_1_alert_colour
            l_1_distinct = context.call(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'distinct_labels'), l_1_alert, _loop_vars=_loop_vars)
            _loop_vars['distinct'] = l_1_distinct
            l_1_omitted = ('severity' if ((environment.getattr(l_1_alert, 'severity') != environment.getattr((undefined(name='Severity') if l_1_Severity is missing else l_1_Severity), 'UNKNOWN')) and (environment.getattr(l_1_alert, 'status') != environment.getattr((undefined(name='Status') if l_1_Status is missing else l_1_Status), 'RESOLVED'))) else '')
            _loop_vars['omitted'] = l_1_omitted
            yield '<tr><td class="mh-rule" style="border-left:4px solid '
            yield escape((undefined(name='alert_colour') if l_1_alert_colour is missing else l_1_alert_colour))
            yield ';border-bottom:1px solid #eaeef2;padding:6px 0 6px 10px;'
            yield escape((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap))
            yield '">\n<span style="color:'
            yield escape((undefined(name='alert_colour') if l_1_alert_colour is missing else l_1_alert_colour))
            yield ';font-size:12px;font-weight:700;letter-spacing:.04em;">'
            yield escape(t_9(environment.getattr(l_1_alert, 'status')))
            if ((environment.getattr(l_1_alert, 'severity') != environment.getattr((undefined(name='Severity') if l_1_Severity is missing else l_1_Severity), 'UNKNOWN')) and (environment.getattr(l_1_alert, 'status') != environment.getattr((undefined(name='Status') if l_1_Status is missing else l_1_Status), 'RESOLVED'))):
                pass
                yield ' · '
                yield escape(t_9(environment.getattr(l_1_alert, 'severity')))
            yield '</span>\n<span style="font-weight:600;">'
            yield escape(environment.getattr(l_1_alert, 'name'))
            yield '</span>'
            if (((undefined(name='several') if l_0_several is missing else l_0_several) and environment.getattr(l_1_alert, 'summary')) and (environment.getattr(l_1_alert, 'summary') != environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'summary'))):
                pass
                yield '<br><span style="font-size:14px;">'
                yield escape(environment.getattr(l_1_alert, 'summary'))
                yield '</span>'
            if context.call((undefined(name='label_text') if l_0_label_text is missing else l_0_label_text), (undefined(name='distinct') if l_1_distinct is missing else l_1_distinct), (undefined(name='omitted') if l_1_omitted is missing else l_1_omitted), _loop_vars=_loop_vars):
                pass
                yield ' <span class="mh-muted" style="'
                yield escape((undefined(name='muted') if l_0_muted is missing else l_0_muted))
                yield 'font-size:13px;">'
                yield escape(context.call((undefined(name='label_text') if l_0_label_text is missing else l_0_label_text), (undefined(name='distinct') if l_1_distinct is missing else l_1_distinct), (undefined(name='omitted') if l_1_omitted is missing else l_1_omitted), _loop_vars=_loop_vars))
                yield '</span>'
            if (context.call((undefined(name='since') if l_0_since is missing else l_0_since), l_1_alert, _loop_vars=_loop_vars) or environment.getattr(l_1_alert, 'links')):
                pass
                yield '<br><span class="mh-muted" style="'
                yield escape((undefined(name='muted') if l_0_muted is missing else l_0_muted))
                yield 'font-size:13px;">'
                yield escape(context.call((undefined(name='since') if l_0_since is missing else l_0_since), l_1_alert, _loop_vars=_loop_vars))
                yield '</span>'
                if (context.call((undefined(name='since') if l_0_since is missing else l_0_since), l_1_alert, _loop_vars=_loop_vars) and environment.getattr(l_1_alert, 'links')):
                    pass
                    yield '<span class="mh-muted" style="color:#8c959f;font-size:13px;"> &middot; </span>'
                yield escape(context.call((undefined(name='link_list') if l_0_link_list is missing else l_0_link_list), environment.getattr(l_1_alert, 'links'), '13px', _loop_vars=_loop_vars))
            yield '</td></tr>'
        l_1_alert = l_1_alert_colour = l_1_distinct = l_1_Severity = l_1_Status = l_1_omitted = missing
        yield '</table>'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'truncated_alerts'):
        pass
        yield '<p class="mh-note" style="margin:0 0 12px;padding:8px 10px;background:#fff8c5;color:#3b2300;border-radius:6px;">'
        yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'truncated_alerts'))
        yield ' more alert'
        yield escape(('' if (environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'truncated_alerts') == 1) else 's'))
        yield ' of this group '
        yield escape(('was' if (environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'truncated_alerts') == 1) else 'were'))
        yield ' not shown: left out by the sender (its max_alerts setting) or past the first 100 of a storm; the group has '
        yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'alert_count'))
        yield ' in all.</p>'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'description'):
        pass
        yield '<p style="margin:0 0 12px;white-space:pre-wrap;">'
        yield escape(t_6(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'description')))
        yield '</p>'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'links'):
        pass
        yield '<p style="margin:0 0 8px;">'
        yield escape(context.call((undefined(name='link_list') if l_0_link_list is missing else l_0_link_list), environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'links')))
        yield '</p>'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'facts'):
        pass
        yield escape(context.call((undefined(name='table') if l_0_table is missing else l_0_table), environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'facts')))
    if (undefined(name='common') if l_0_common is missing else l_0_common):
        pass
        yield escape(context.call((undefined(name='table') if l_0_table is missing else l_0_table), (undefined(name='common') if l_0_common is missing else l_0_common), ('Labels of all alerts' if (undefined(name='several') if l_0_several is missing else l_0_several) else 'Labels')))
    for l_1_alert in (undefined(name='alerts') if l_0_alerts is missing else l_0_alerts):
        l_1_alert_colour = resolve('alert_colour')
        l_1_distinct = resolve('distinct')
        l_1_summary_shown = l_1_extra_summary = l_1_extra_description = missing
        _loop_vars = {}
        pass
        l_1_summary_shown = (environment.getattr(l_1_alert, 'summary') and ((environment.getattr(l_1_alert, 'summary') == environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'summary')) or (undefined(name='several') if l_0_several is missing else l_0_several)))
        _loop_vars['summary_shown'] = l_1_summary_shown
        l_1_extra_summary = (environment.getattr(l_1_alert, 'summary') and (not (undefined(name='summary_shown') if l_1_summary_shown is missing else l_1_summary_shown)))
        _loop_vars['extra_summary'] = l_1_extra_summary
        l_1_extra_description = (environment.getattr(l_1_alert, 'description') and (environment.getattr(l_1_alert, 'description') != environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'description')))
        _loop_vars['extra_description'] = l_1_extra_description
        if ((((undefined(name='extra_summary') if l_1_extra_summary is missing else l_1_extra_summary) or (undefined(name='extra_description') if l_1_extra_description is missing else l_1_extra_description)) or environment.getattr(l_1_alert, 'values')) or environment.getattr(l_1_alert, 'annotations')):
            pass
            l_1_alert_colour = t_1(l_1_alert)
            _loop_vars['alert_colour'] = l_1_alert_colour
            yield '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:collapse;margin:4px 0 12px;">\n<tr><td style="border-left:4px solid '
            yield escape((undefined(name='alert_colour') if l_1_alert_colour is missing else l_1_alert_colour))
            yield ';padding:2px 0 0 10px;'
            yield escape((undefined(name='wrap') if l_0_wrap is missing else l_0_wrap))
            yield '">'
            if (undefined(name='several') if l_0_several is missing else l_0_several):
                pass
                yield '<p style="margin:0 0 4px;font-weight:600;"><span style="color:'
                yield escape((undefined(name='alert_colour') if l_1_alert_colour is missing else l_1_alert_colour))
                yield ';font-size:12px;letter-spacing:.04em;">'
                yield escape(t_9(environment.getattr(l_1_alert, 'status')))
                yield '</span> '
                yield escape(environment.getattr(l_1_alert, 'name'))
                l_1_distinct = context.call(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'distinct_labels'), l_1_alert, _loop_vars=_loop_vars)
                _loop_vars['distinct'] = l_1_distinct
                if (undefined(name='distinct') if l_1_distinct is missing else l_1_distinct):
                    pass
                    yield '<br><span class="mh-muted" style="'
                    yield escape((undefined(name='muted') if l_0_muted is missing else l_0_muted))
                    yield 'font-weight:400;font-size:13px;">'
                    yield escape(context.call((undefined(name='label_text') if l_0_label_text is missing else l_0_label_text), (undefined(name='distinct') if l_1_distinct is missing else l_1_distinct), _loop_vars=_loop_vars))
                    yield '</span>'
                yield '</p>'
            if (undefined(name='extra_summary') if l_1_extra_summary is missing else l_1_extra_summary):
                pass
                yield '<p style="margin:0 0 4px;font-weight:600;">'
                yield escape(t_6(environment.getattr(l_1_alert, 'summary')))
                yield '</p>'
            if (undefined(name='extra_description') if l_1_extra_description is missing else l_1_extra_description):
                pass
                yield '<p style="margin:0 0 8px;white-space:pre-wrap;">'
                yield escape(t_6(environment.getattr(l_1_alert, 'description')))
                yield '</p>'
            if environment.getattr(l_1_alert, 'values'):
                pass
                yield escape(context.call((undefined(name='table') if l_0_table is missing else l_0_table), t_2(environment.getattr(l_1_alert, 'values')), 'Values', _loop_vars=_loop_vars))
            if environment.getattr(l_1_alert, 'annotations'):
                pass
                yield escape(context.call((undefined(name='table') if l_0_table is missing else l_0_table), t_2(environment.getattr(l_1_alert, 'annotations')), 'Annotations', _loop_vars=_loop_vars))
            yield '</td></tr>\n</table>'
    l_1_alert = l_1_summary_shown = l_1_extra_summary = l_1_extra_description = l_1_alert_colour = l_1_distinct = missing
    yield '</td></tr>\n<tr><td class="mh-muted mh-rule" style="padding:8px 14px 12px;'
    yield escape((undefined(name='muted') if l_0_muted is missing else l_0_muted))
    yield 'font-size:12px;border-top:1px solid #d0d7de;">Sent by Mailhook from '
    yield escape((environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'sender') or environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'source')))
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'sender'):
        pass
        yield ' (via the '
        yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'source'))
        yield ' hook)'
    if environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'event'):
        pass
        yield ' ('
        yield escape(environment.getattr((undefined(name='n') if l_0_n is missing else l_0_n), 'event'))
        yield ')'
    yield '.</td></tr>\n</table>\n<!--[if mso]></td></tr></table><![endif]-->\n</td></tr></table>\n</body>\n</html>\n'

blocks = {}
debug_info = '12=75&13=78&14=81&15=88&16=96&17=105&20=116&21=123&22=127&25=135&26=140&30=168&32=175&34=208&35=214&36=218&37=226&38=230&41=242&42=245&43=248&44=251&52=263&73=265&74=271&75=273&77=275&78=277&79=280&81=282&83=285&84=291&86=293&87=295&88=298&89=302&90=310&91=312&92=317&93=324&98=338&99=341&101=349&102=352&104=354&105=357&107=359&108=361&110=362&111=364&113=365&114=371&115=373&116=375&117=377&118=379&120=382&121=386&122=389&124=404&125=407&127=409&128=412&130=414&131=416&133=417&134=419&141=423'