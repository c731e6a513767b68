; Rounds NSIS installer hooks (tauri.conf.json > bundle > windows > nsis > installerHooks).
; Windows only; cannot be built on the Linux CI. See docs/it-deployment.md.
;
; Silent install for IT (per machine; run elevated or as SYSTEM). /D= must come last:
;   Rounds_0.1.0_x64-setup.exe /S /ROUNDS_SERVER=https://emr.example.org /ROUNDS_SITE=default
;     "/ROUNDS_SERVER_NAME=General Hospital" /ROUNDS_POLICY_FILE=\\fileserver\it\rounds\policy.json
; The options mean what the MSI properties of the same names mean (src-tauri/windows/policy.wxs):
;   /ROUNDS_SERVER=URL       HKLM\Software\Policies\Rounds\Mandatory "clinic.servers" (REG_SZ JSON).
;                            This build does not read the registry yet ("not read by this build").
;   /ROUNDS_SITE=SITE        default "default";  /ROUNDS_SERVER_NAME=NAME  default "Clinic".
;   /ROUNDS_POLICY_FILE=PATH copied to $INSTDIR\policy.json, the file source this build reads.

; The repository root, fixed when this file is included (the macros expand in installer.nsi).
!define ROUNDS_REPO "${__FILEDIR__}\..\.."

!macro NSIS_HOOK_POSTINSTALL
  Push $R0
  Push $R1
  Push $R2
  Push $R3
  SetOutPath "$INSTDIR"
  ; rounds-cli for IT: build it (cargo build --release -p rounds-cli) before `tauri build`.
  File "/oname=rounds-cli.exe" "${ROUNDS_REPO}\target\release\rounds-cli.exe"
  File "/oname=rounds-policy.schema.json" "${ROUNDS_REPO}\policy\rounds-policy.schema.json"
  File "/oname=policy.example.json" "${ROUNDS_REPO}\policy\policy.example.json"

  ${GetParameters} $R0

  ClearErrors
  ${GetOptions} $R0 "/ROUNDS_POLICY_FILE=" $R1
  ${IfNot} ${Errors}
  ${AndIf} $R1 != ""
    ClearErrors
    CopyFiles /SILENT "$R1" "$INSTDIR\policy.json"
    ${If} ${Errors}
      DetailPrint "Rounds: could not copy the policy file $R1"
      SetErrorLevel 2
    ${EndIf}
  ${EndIf}

  ClearErrors
  ${GetOptions} $R0 "/ROUNDS_SERVER=" $R1
  ${IfNot} ${Errors}
  ${AndIf} $R1 != ""
    ClearErrors
    ${GetOptions} $R0 "/ROUNDS_SITE=" $R2
    ${If} ${Errors}
    ${OrIf} $R2 == ""
      StrCpy $R2 "default"
    ${EndIf}
    ClearErrors
    ${GetOptions} $R0 "/ROUNDS_SERVER_NAME=" $R3
    ${If} ${Errors}
    ${OrIf} $R3 == ""
      StrCpy $R3 "Clinic"
    ${EndIf}
    !if "${ARCH}" != "x86"
      SetRegView 64
    !endif
    WriteRegStr HKLM "Software\Policies\Rounds\Mandatory" "clinic.servers" '[{"url":"$R1","site":"$R2","display_name":"$R3"}]'
    !if "${ARCH}" != "x86"
      SetRegView lastused
    !endif
  ${EndIf}

  Pop $R3
  Pop $R2
  Pop $R1
  Pop $R0
!macroend

; Runs before Tauri removes its own files, so $INSTDIR can go if nothing of IT's is left in it.
; policy.json and HKLM\Software\Policies\Rounds belong to IT (or Group Policy) and stay, as
; /etc/rounds does when the .deb is removed.
!macro NSIS_HOOK_PREUNINSTALL
  Delete "$INSTDIR\rounds-cli.exe"
  Delete "$INSTDIR\rounds-policy.schema.json"
  Delete "$INSTDIR\policy.example.json"
!macroend
