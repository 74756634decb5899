// A survey's web form: the stored XForm turned into Enketo's form in the browser, drafts kept in
// localStorage (their files in IndexedDB), the instance sent as an OpenRosa multipart submission. Bundled by `make assets`
// (esbuild) into static/vendor/enketo/webform.js with enketo-core and enketo-transformer.
import { Form } from 'enketo-core';
import fileManager from 'enketo-core/src/js/file-manager';
import { transform } from 'enketo-transformer/web';

const SAVE_DELAY_MS = 400;

function text(root, name) {
    return root.dataset[name] || '';
}

// The transformation depends only on the XForm, so it is kept per XForm hash: a version is
// transformed once per browser (an edited form is a new version with a new hash).
async function transformed(root) {
    const cacheKey = `taihu:enketo-form:${text(root, 'hash')}`;
    try {
        const cached = JSON.parse(localStorage.getItem(cacheKey) || 'null');
        if (cached && cached.form && cached.model) return cached;
    } catch (_) {
        /* an unreadable cache is transformed again */
    }
    const answer = await fetch(text(root, 'xform'), { credentials: 'same-origin' });
    if (!answer.ok) throw new Error(`${answer.status} ${await answer.text()}`);
    const result = await transform({ xform: await answer.text() });
    const kept = { form: result.form, model: result.model, languageMap: result.languageMap };
    try {
        localStorage.setItem(cacheKey, JSON.stringify(kept));
    } catch (_) {
        /* a full storage only costs a transformation next time */
    }
    return kept;
}

// A draft's files (photos, documents chosen for its file questions) by draft key, as
// {filename: Blob}: localStorage holds only strings, IndexedDB keeps Blobs as they are.
const FILES_DB = 'taihu-webform';
const FILES_STORE = 'draft-files';

function filesDb() {
    return new Promise((resolve, reject) => {
        const request = indexedDB.open(FILES_DB, 1);
        request.onupgradeneeded = () => request.result.createObjectStore(FILES_STORE);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
    });
}

async function filesDo(mode, work) {
    const db = await filesDb();
    try {
        return await new Promise((resolve, reject) => {
            const tx = db.transaction(FILES_STORE, mode);
            const request = work(tx.objectStore(FILES_STORE));
            tx.oncomplete = () => resolve(request.result);
            tx.onerror = () => reject(tx.error);
        });
    } finally {
        db.close();
    }
}

const readFiles = (key) => filesDo('readonly', (store) => store.get(key)).then((f) => f || {});
const writeFiles = (key, files) => filesDo('readwrite', (store) => store.put(files, key));
const dropFiles = (key) => filesDo('readwrite', (store) => store.delete(key));

// Whether the instance names a file (a file question's value is the file's name).
const names = (xml, name) => xml.includes(`>${name}<`);

function readDraft(key) {
    try {
        const draft = JSON.parse(localStorage.getItem(key) || 'null');
        return draft && typeof draft.xml === 'string' ? draft : null;
    } catch (_) {
        return null;
    }
}

function start(root) {
    const status = root.querySelector('.webform-status');
    const body = root.querySelector('.webform-body');
    const submit = root.querySelector('.webform-submit');
    const discard = root.querySelector('.webform-discard');
    const draftKey = text(root, 'draftKey');
    const say = (message, kind) => {
        status.textContent = message;
        status.dataset.kind = kind || 'info';
    };
    let form = null;
    let model = '';
    let saveTimer = null;
    // The draft's files: those chosen in this page, and those restored from IndexedDB (a file
    // input cannot be given a file back, so a restored draft's files live only here).
    let kept = {};

    // Enketo asks the file manager for a preview of a restored file question's value (its
    // name): the kept Blob answers; anything else goes to Enketo's own.
    const ownFileUrl = fileManager.getFileUrl;
    fileManager.getFileUrl = (subject) =>
        typeof subject === 'string' && kept[subject]
            ? Promise.resolve(URL.createObjectURL(kept[subject]))
            : ownFileUrl(subject);

    const keepFiles = (xml) => {
        const files = {};
        for (const file of fileManager.getCurrentFiles()) files[file.name] = file;
        for (const [name, blob] of Object.entries(kept)) {
            if (!files[name]) files[name] = blob;
        }
        // Only what the instance still names: a replaced or cleared file is dropped.
        kept = Object.fromEntries(Object.entries(files).filter(([name]) => names(xml, name)));
        return writeFiles(draftKey, kept);
    };

    const save = () => {
        if (!form) return;
        clearTimeout(saveTimer);
        saveTimer = null;
        const xml = form.getDataStr();
        try {
            localStorage.setItem(draftKey, JSON.stringify({ xml, saved: new Date().toISOString() }));
        } catch (_) {
            say(text(root, 'msgNotSaved'), 'error');
            return;
        }
        keepFiles(xml).then(
            () => {
                root.dataset.filesSaved = String(Object.keys(kept).length);
                say(text(root, 'msgSaved'));
            },
            () => say(text(root, 'msgNotSaved'), 'error')
        );
    };
    const forget = () => {
        localStorage.removeItem(draftKey);
        kept = {};
        dropFiles(draftKey).catch(() => {
            /* an unreachable IndexedDB keeps nothing to forget */
        });
    };
    const saveSoon = () => {
        clearTimeout(saveTimer);
        saveTimer = setTimeout(save, SAVE_DELAY_MS);
    };

    const open = (instanceStr) => {
        if (form) form.resetView();
        body.querySelectorAll('form.or').forEach((element) => element.remove());
        body.insertAdjacentHTML('beforeend', root._formHtml);
        const element = body.querySelector('form.or');
        form = new Form(
            element,
            { modelStr: model, instanceStr: instanceStr || null },
            { language: text(root, 'lang') }
        );
        const problems = form.init();
        if (problems.length) say(problems.join(' '), 'error');
        // Enketo updates its model on these; the draft follows a moment later.
        for (const name of ['xforms-value-changed', 'change', 'addrepeat', 'removerepeat']) {
            element.addEventListener(name, saveSoon);
        }
        root.dataset.ready = 'true';
    };

    const send = async () => {
        if (!form) return;
        submit.disabled = true;
        try {
            const valid = await form.validate();
            if (!valid) {
                say(text(root, 'msgInvalid'), 'error');
                return;
            }
            say(text(root, 'msgSending'));
            const data = new FormData();
            const xml = form.getDataStr();
            data.append(
                'xml_submission_file',
                new Blob([xml], { type: 'text/xml' }),
                'xml_submission_file.xml'
            );
            const sent = new Set();
            for (const file of fileManager.getCurrentFiles()) {
                data.append(file.name, file, file.name);
                sent.add(file.name);
            }
            // A restored draft's files, which no input holds any more.
            for (const [name, blob] of Object.entries(kept)) {
                if (!sent.has(name) && names(xml, name)) data.append(name, blob, name);
            }
            const answer = await fetch(text(root, 'submit'), {
                method: 'POST',
                body: data,
                credentials: 'same-origin',
                headers: { 'X-CSRF-Token': text(root, 'csrf') },
            });
            if (answer.status === 201) {
                let missing = [];
                try {
                    missing = (await answer.json()).attachments_missing || [];
                } catch (_) {
                    /* stored all the same */
                }
                forget();
                open(null); // a fresh form with a new instanceID
                if (missing.length) {
                    say(`${text(root, 'msgMissing')} ${missing.join(', ')}`, 'error');
                } else {
                    say(text(root, 'msgSent'), 'success');
                }
                root.dataset.sent = String(Number(root.dataset.sent || '0') + 1);
                return;
            }
            let message = `${answer.status}`;
            try {
                message = (await answer.json()).message || message;
            } catch (_) {
                /* not JSON: the status says enough */
            }
            say(`${text(root, 'msgRefused')} ${message}`, 'error');
        } catch (error) {
            // Offline or the server gone: the draft stays, the person may send again later.
            say(`${text(root, 'msgRefused')} ${error.message}`, 'error');
        } finally {
            submit.disabled = false;
        }
    };

    transformed(root)
        .then(async (result) => {
            root._formHtml = result.form;
            model = result.model;
            const draft = readDraft(draftKey);
            if (draft) {
                try {
                    kept = await readFiles(draftKey);
                } catch (_) {
                    kept = {}; // no IndexedDB (a private window): the answers come back alone
                }
            }
            open(draft ? draft.xml : null);
            say(text(root, draft ? 'msgRestored' : 'msgReady'));
            submit.addEventListener('click', send);
            discard.addEventListener('click', () => {
                forget();
                open(null);
                say(text(root, 'msgDiscarded'));
            });
            // Leaving or hiding the tab saves at once: the delay must not lose the last answer.
            window.addEventListener('pagehide', () => saveTimer && save());
            document.addEventListener('visibilitychange', () => saveTimer && save());
        })
        .catch((error) => say(`${text(root, 'msgBroken')} ${error.message}`, 'error'));
}

document.querySelectorAll('.webform[data-xform]').forEach(start);
